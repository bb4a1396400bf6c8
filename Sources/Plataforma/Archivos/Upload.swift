import Foundation
import Vapor

/// What one upload endpoint accepts.
public struct UploadPolicy: Sendable {
    /// The multipart field that carries the file.
    public var fileField: String
    public var maxFileBytes: Int
    public var families: Set<ContentFamily>
    /// Text fields read along with the file; any other is ignored, as DRF ignores unknown fields.
    public var textFields: Set<String> = []
    public var fileRequired = true
    /// Bytes the uploader may still store: exceeding it stops the upload early (the commit
    /// checks again under the quota lock).
    public var quotaRemaining: Int?

    /// `/api/archivos/`: every allowed family, up to `MAX_UPLOAD_MB`.
    static func archivos(_ settings: Settings, quotaRemaining: Int) -> UploadPolicy {
        UploadPolicy(fileField: "archivo", maxFileBytes: settings.maxUploadBytes, families: ContentFamily.documents,
                     textFields: ["descripcion", "proyecto"], quotaRemaining: quotaRemaining)
    }

    /// User photos: JPEG, PNG or WebP up to 5 MB (never above `MAX_UPLOAD_MB`).
    static func foto(_ settings: Settings) -> UploadPolicy {
        UploadPolicy(fileField: "foto", maxFileBytes: min(5 << 20, settings.maxUploadBytes), families: ContentFamily.photos)
    }

    /// Certificate files: PDF, PNG or JPEG up to 10 MB (never above `MAX_UPLOAD_MB`).
    static func certificado(_ settings: Settings, quotaRemaining: Int, textFields: Set<String> = [],
                            fileRequired: Bool = true) -> UploadPolicy {
        UploadPolicy(fileField: "archivo", maxFileBytes: min(10 << 20, settings.maxUploadBytes),
                     families: ContentFamily.certificates, textFields: textFields, fileRequired: fileRequired,
                     quotaRemaining: quotaRemaining)
    }
}

/// A file received whole, hashed and sniffed, waiting under `MEDIA_ROOT/tmp/` to be adopted by
/// `BlobTransaction.adopt` or discarded.
public struct ReceivedFile: Sendable {
    public let tempPath: String
    public let sha256: String
    public let size: Int
    /// The client's name, sanitised.
    public let nombre: String
    public let tipoMime: String

    func discard() async { await MediaStorage.remove(tempPath) }
}

/// A multipart form: its file (if any) and the text fields the policy asked for.
public struct ReceivedForm: Sendable {
    public var file: ReceivedFile?
    public var fields: [String: String]

    /// The text fields as a JSON object for `JSONInput`: an empty value of a `nullable` field
    /// is null, as DRF reads form data.
    func input(nullable: Set<String>) -> JSONInput {
        JSONInput(values: fields.reduce(into: [:]) { values, field in
            values[field.key] = field.value.isEmpty && nullable.contains(field.key) ? .null : .string(field.value)
        })
    }
}

/// The answers of uploads, in the SPEC's error shape.
enum UploadError {
    static let quotaExceeded = APIError(.payloadTooLarge, "Ha superado su cuota de almacenamiento.", code: "quota_exceeded")

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.payloadTooLarge, "El archivo supera el tamaño máximo permitido (\(limit >> 20) MB).", code: "request_too_large")
    }

    static func unsupported(_ families: Set<ContentFamily>) -> APIError {
        let names = ContentFamily.allCases.filter(families.contains).map { $0.rawValue.uppercased() }.joined(separator: ", ")
        return APIError(.unsupportedMediaType, "Tipo de archivo no permitido. Se aceptan: \(names).", code: "unsupported_media_type")
    }

    static func malformed(_ reason: String) -> APIError {
        APIError(.badRequest, "Error de análisis multipart: \(reason)", code: "parse_error")
    }

    static func field(_ name: String, _ message: String) -> APIError { APIError.field(name, message) }

    static let noFile = "No se envió ningún archivo."
    static let notAFile = "Los datos enviados no son un archivo. Compruebe el tipo de codificación en el formulario."
    static let emptyFile = "El archivo enviado está vacío."
    static let twoFiles = "Envíe un único archivo."
}
