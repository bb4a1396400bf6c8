import Foundation
import NIOCore

/// The state of one multipart body being read: `FormDataParser` reports headers, body bytes and
/// part ends; this routes them to the file, a text field or nowhere.
final class FormReader {
    private enum Part { case file, text(String), skip }

    private var parser: FormDataParser
    private let policy: UploadPolicy
    private let media: MediaStorage
    private var headers: [(String, String)] = []
    private var part: Part?
    private var textBuffer: [UInt8] = []
    private var file: FileSink?
    private var fileSentAsText = false
    private var fields: [String: String] = [:]

    init(boundary: String, policy: UploadPolicy, media: MediaStorage) {
        parser = FormDataParser(boundary: boundary)
        self.policy = policy
        self.media = media
    }

    func consume(_ chunk: ByteBuffer) async throws {
        let events: [FormDataParser.Event]
        do { events = try parser.parse(chunk) } catch { throw UploadError.malformed("formato no válido.") }
        for event in events { try await handle(event) }
    }

    private func handle(_ event: FormDataParser.Event) async throws {
        switch event {
        case .header(let name, let value):
            guard headers.count < MultipartReceiver.maxHeadersPerPart else { throw UploadError.malformed("demasiadas cabeceras.") }
            headers.append((name, value))
        case .body(let bytes):
            let current = try await currentPart()
            switch current {
            case .file: try await file?.write(bytes)
            case .text(let name):
                guard textBuffer.count + bytes.readableBytes <= MultipartReceiver.maxTextBytes else {
                    throw UploadError.field(name, "Asegúrese de que este campo no tenga más de \(MultipartReceiver.maxTextBytes) bytes.")
                }
                textBuffer.append(contentsOf: bytes.readableBytesView)
            case .skip: break
            }
        case .partEnd:
            if case .text(let name) = try await currentPart() {
                guard let text = String(validating: textBuffer, as: UTF8.self) else {
                    throw UploadError.field(name, "El texto no está codificado en UTF-8.")
                }
                fields[name] = text
            }
            part = nil
            headers = []
        }
    }

    /// The part whose headers just ended, decided on its first byte (or its end, when empty).
    private func currentPart() async throws -> Part {
        if let part { return part }
        let started = try await startPart()
        part = started
        return started
    }

    private func startPart() async throws -> Part {
        let value = headers.first { $0.0.lowercased() == "content-disposition" }?.1
        guard let value, let disposition = PartDisposition(value), let name = disposition.name else { return .skip }
        if let filename = disposition.filename {
            guard name == policy.fileField else { return .skip }
            guard file == nil else { throw UploadError.field(policy.fileField, UploadError.twoFiles) }
            // The name and the declared type are checked before a byte is stored.
            let declared = headers.first { $0.0.lowercased() == "content-type" }?.1
            let agreement = try FileTypeAgreement(fileName: FileName.sanitize(filename), declaredType: declared, families: policy.families)
            file = try await FileSink(path: media.newTempPath(), originalName: filename, policy: policy, agreement: agreement)
            return .file
        }
        if name == policy.fileField {
            fileSentAsText = true
            return .skip
        }
        guard policy.textFields.contains(name) else { return .skip }
        textBuffer = []
        return .text(name)
    }

    /// The body ended: it must have ended properly, with the file the policy asks for.
    func finish() async throws -> ReceivedForm {
        guard parser.isClosed, part == nil else { throw UploadError.malformed("el cuerpo está incompleto.") }
        // Browsers send an empty, unnamed file part for a file input left empty.
        if let file, file.size == 0, file.originalName.isEmpty {
            await file.discard()
            self.file = nil
        }
        guard let file else {
            if policy.fileRequired || fileSentAsText {
                throw UploadError.field(policy.fileField, fileSentAsText ? UploadError.notAFile : UploadError.noFile)
            }
            return ReceivedForm(file: nil, fields: fields)
        }
        guard file.size > 0 else { throw UploadError.field(policy.fileField, UploadError.emptyFile) }
        let received = try await file.finish()
        self.file = nil
        return ReceivedForm(file: received, fields: fields)
    }

    /// Drops the file being received, if any.
    func discard() async {
        await file?.discard()
        file = nil
    }
}
