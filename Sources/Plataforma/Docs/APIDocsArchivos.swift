import Vapor

/// Archivos, user photos and certificate files in the OpenAPI document.
extension APIDocs {
    /// A download: the bytes (any allowed type), a range of them, or "not modified".
    static func download(_ path: String, tag: String, summary: String, mediaType: String = "*/*") -> APIOperation {
        APIOperation(method: .GET, path: path, tag: tag, summary: summary, success: (.ok, Schema.binary),
                     successMediaType: mediaType, alsoSuccess: [(.partialContent, Schema.binary), (.notModified, nil)],
                     errors: [416])
    }

    static let archivos: [APIOperation] = [
        APIOperation(method: .GET, path: "/api/archivos/", tag: "archivos", summary: "Listar archivos",
                     query: Schema.pagination + [("proyecto", Schema.id), ("propietario", Schema.id)], success: (.ok, Schema.page("Archivo"))),
        APIOperation(method: .POST, path: "/api/archivos/", tag: "archivos",
                     summary: "Subir un archivo (multipart; tipo comprobado por contenido, MAX_UPLOAD_MB, USER_QUOTA_MB)",
                     body: .multipart(Schema.object(["archivo": Schema.binary, "descripcion": Schema.string, "proyecto": Schema.id],
                                                    required: ["archivo"])),
                     success: (.created, Schema.ref("Archivo"))),
        APIOperation(method: .GET, path: "/api/archivos/{id}/", tag: "archivos", summary: "Ver archivo", success: (.ok, Schema.ref("Archivo"))),
        APIOperation(method: .PATCH, path: "/api/archivos/{id}/", tag: "archivos", summary: "Cambiar descripción o proyecto",
                     body: .json(Schema.object(["descripcion": ["type": "string", "maxLength": 1_000],
                                                "proyecto": Schema.nullable(Schema.id)])),
                     success: (.ok, Schema.ref("Archivo"))),
        APIOperation(method: .DELETE, path: "/api/archivos/{id}/", tag: "archivos", summary: "Eliminar archivo", success: (.noContent, nil)),
        download("/api/archivos/{id}/descarga/", tag: "archivos", summary: "Descargar (Range, ETag, attachment)"),
        APIOperation(method: .PUT, path: "/api/usuarios/{id}/foto/", tag: "usuarios",
                     summary: "Poner la foto (JPEG, PNG o WebP, ≤ 5 MB): el propio usuario o un admin",
                     body: .multipart(Schema.object(["foto": Schema.binary], required: ["foto"])), success: (.ok, Schema.ref("Usuario"))),
        download("/api/usuarios/{id}/foto/", tag: "usuarios", summary: "La foto del usuario", mediaType: "image/*"),
        APIOperation(method: .DELETE, path: "/api/usuarios/{id}/foto/", tag: "usuarios", summary: "Quitar la foto", success: (.noContent, nil)),
        APIOperation(method: .PUT, path: "/api/mentores/{id}/certificados/{cid}/archivo/", tag: "mentores",
                     summary: "Poner el archivo del certificado (PDF, PNG o JPEG, ≤ 10 MB)",
                     body: .multipart(Schema.object(["archivo": Schema.binary], required: ["archivo"])),
                     success: (.ok, Schema.ref("Certificado"))),
        download("/api/mentores/{id}/certificados/{cid}/archivo/", tag: "mentores", summary: "Descargar el archivo del certificado"),
        APIOperation(method: .DELETE, path: "/api/mentores/{id}/certificados/{cid}/archivo/", tag: "mentores",
                     summary: "Quitar el archivo del certificado", success: (.noContent, nil)),
    ]
}
