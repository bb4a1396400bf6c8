import Fluent
import Vapor

/// `/api/usuarios/{id}/foto/`: a user's photo (JPEG, PNG or WebP by content, ≤ 5 MB). Anyone
/// signed in sees it; the owner (a mentor too, for their own id) or an admin changes it.
struct FotoController {
    func boot(uploads: any RoutesBuilder, downloads: any RoutesBuilder) {
        uploads.on(.PUT, "usuarios", ":id", "foto", body: .stream, use: put)
        uploads.delete("usuarios", ":id", "foto", use: delete)
        downloads.get("usuarios", ":id", "foto", use: get)
    }

    static func lock(_ userID: Int) -> String { "foto:\(userID)" }

    /// The account whose photo the caller may change: their own, or (admins) anyone's; others
    /// are 403, as `/api/usuarios/` answers them.
    static func editable(_ req: Request) async throws -> Usuario {
        let caller = try req.requireUser()
        if let id = req.parameters.get("id", as: Int.self), id == caller.id { return caller }
        try req.authorize(.editar, on: .usuarios)
        return try await req.findOr404(Usuario.self)
    }

    /// The photo's blob as the rows stand (read under the user's photo lock).
    static func currentBlob(of userID: Int, on db: any Database) async throws -> [String] {
        try await UsuarioFoto.query(on: db).filter(\.$usuario.$id == userID).first().map { [$0.$blob.id] } ?? []
    }

    @Sendable func put(req: Request) async throws -> UsuarioDTO {
        let user = try await Self.editable(req)
        let userID = try user.requireID()
        let form = try await MultipartReceiver.receive(req, policy: .foto(req.application.settings))
        guard let file = form.file else { throw APIError.field("foto", UploadError.noFile) }
        do {
            try await BlobStore.write(req, owners: [Self.lock(userID)], blobs: { db in
                [file.sha256] + (try await Self.currentBlob(of: userID, on: db))
            }) { transaction in
                try await transaction.adopt(file)
                let foto = try await UsuarioFoto.query(on: transaction.db).filter(\.$usuario.$id == userID).first() ?? UsuarioFoto()
                let previous = foto.id == nil ? nil : foto.$blob.id
                foto.$usuario.id = userID
                foto.$blob.id = file.sha256
                foto.tipoMime = file.tipoMime
                foto.tamano = file.size
                foto.actualizado = Date()
                try await foto.save(on: transaction.db)
                if let previous { try await transaction.release(previous) }
                try await req.audit(.actualizar, "usuarios", id: userID, antes: ["foto": .string(previous ?? "")] as JSONValue,
                                    despues: ["foto": .string(file.sha256)] as JSONValue, on: transaction.db)
            }
        } catch {
            await file.discard()
            throw error
        }
        return try await user.toDTO(req)
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let userID = try await Self.editable(req).requireID()
        let removed = try await BlobStore.write(req, owners: [Self.lock(userID)], blobs: { db in
            try await Self.currentBlob(of: userID, on: db)
        }) { transaction -> Bool in
            guard let foto = try await UsuarioFoto.query(on: transaction.db).filter(\.$usuario.$id == userID).first() else { return false }
            try await foto.delete(on: transaction.db)
            try await transaction.release(foto.$blob.id)
            try await req.audit(.actualizar, "usuarios", id: userID, antes: ["foto": .string(foto.$blob.id)] as JSONValue,
                                despues: ["foto": .null] as JSONValue, on: transaction.db)
            return true
        }
        guard removed else { throw APIError.notFound }
        return .noContent
    }

    @Sendable func get(req: Request) async throws -> Response {
        _ = try req.requireUser()
        guard let id = req.parameters.get("id", as: Int.self),
              let foto = try await UsuarioFoto.query(on: req.db).filter(\.$usuario.$id == id).first() else { throw APIError.notFound }
        let ext = foto.tipoMime.split(separator: "/").last.map { $0 == "jpeg" ? "jpg" : String($0) } ?? "img"
        return try await FileDownload.response(
            .init(sha256: foto.$blob.id, size: foto.tamano, tipoMime: foto.tipoMime, nombre: "foto-\(id).\(ext)", inline: true), req: req)
    }
}
