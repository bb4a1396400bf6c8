import Fluent
import Vapor

/// `/api/usuarios/`: accounts, for admins (coordinators read). Mentors use `/api/auth/me/`.
struct UsuarioController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let usuarios = routes.grouped("usuarios")
        usuarios.get(use: list)
        usuarios.post(use: create)
        usuarios.get(":id", use: detail)
        usuarios.put(":id", use: replace)
        usuarios.patch(":id", use: patch)
        usuarios.delete(":id", use: delete)
    }

    static let ordering: [String: FieldKey] = [
        "id": .id, "email": "email_clave", "nombre": "nombre", "apellidos": "apellidos",
        "rol": "rol", "fecha_creacion": "fecha_creacion", "ultimo_acceso": "ultimo_acceso",
    ]

    @Sendable func list(req: Request) async throws -> Page<UsuarioDTO> {
        try req.authorize(.leer, on: .usuarios)
        var filters = QueryFilters(req)
        let rol = filters.choice("rol", Rol.self)
        let activo = filters.bool("activo")
        try filters.finish()
        let query = Usuario.query(on: req.db)
        if let rol { query.filter(\.$rol == rol) }
        if let activo { query.filter(\.$activo == activo) }
        SearchFilter.apply(query, request: req, columns: ["email", "nombre", "apellidos"])
        OrderingFilter.apply(query, request: req, fields: Self.ordering, fallback: [])
        return try await Paginator.paginate(query, request: req, mapPage: { try await Usuario.dtos($0, req: req) })
    }

    @Sendable func detail(req: Request) async throws -> UsuarioDTO {
        try req.authorize(.leer, on: .usuarios)
        return try await find(req).toDTO(req)
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.crear, on: .usuarios)
        var input = try JSONInput.parse(req)
        let fields = try await read(&input, req: req, existing: nil)
        let user = Usuario(email: fields.email ?? "", passwordHash: "", nombre: fields.nombre ?? "",
                           apellidos: fields.apellidos ?? "", rol: fields.rol ?? .mentor, activo: fields.activo ?? true)
        guard let password = fields.password else { throw APIError.parseError }
        user.password = try await req.offload { try PasswordHasher.hash(password) }
        try await UsuarioRules.savingUnique {
            try await req.writeTransaction { db in
                try await user.create(on: db)
                try await req.audit(.crear, "usuarios", id: user.id, despues: try user.toDTO(fotoURL: nil), on: db)
            }
        }
        return try await user.toDTO(req).encodeResponse(status: .created, for: req)
    }

    @Sendable func replace(req: Request) async throws -> UsuarioDTO {
        try await update(req: req, partial: false)
    }

    @Sendable func patch(req: Request) async throws -> UsuarioDTO {
        try await update(req: req, partial: true)
    }

    private func update(req: Request, partial: Bool) async throws -> UsuarioDTO {
        try req.authorize(.editar, on: .usuarios)
        let user = try await find(req)
        let before = try user.toDTO(fotoURL: nil)
        var input = try JSONInput.parse(req, partial: partial)
        let fields = try await read(&input, req: req, existing: user)
        if let email = fields.email {
            user.email = email
            user.emailClave = EmailAddress.lookupKey(email)
        }
        if let nombre = fields.nombre { user.nombre = nombre }
        if let apellidos = fields.apellidos { user.apellidos = apellidos }
        if let rol = fields.rol { user.rol = rol }
        let deactivated = fields.activo == false && user.activo
        if let activo = fields.activo { user.activo = activo }
        let newHash: String? = try await fields.password.asyncMap { password in
            try await req.offload { try PasswordHasher.hash(password) }
        }
        let tokens = req.tokens
        try await UsuarioRules.savingUnique {
            try await req.db.transaction { db in
                if let newHash {
                    try await UsuarioRules.setPassword(newHash, for: user, on: db, tokens: tokens)
                } else {
                    try await user.save(on: db)
                }
                if deactivated { try await tokens.revokeAll(userID: try user.requireID(), reason: "desactivado", on: db) }
                try await req.audit(.actualizar, "usuarios", id: user.id, antes: before, despues: try user.toDTO(fotoURL: nil), on: db)
            }
        }
        return try await user.toDTO(req)
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let caller = try req.requireUser()
        try req.authorize(.eliminar, on: .usuarios)
        let user = try await find(req)
        if user.id == caller.id {
            throw APIError.field("non_field_errors", "No puede eliminar su propia cuenta.")
        }
        let userID = try user.requireID()
        // Their files and photo go with the account (cascade); then the bytes nothing else uses.
        let blobs = try await Archivo.query(on: req.db).filter(\.$propietario.$id == userID).all().map { $0.$blob.id }
            + UsuarioFoto.query(on: req.db).filter(\.$usuario.$id == userID).all().map { $0.$blob.id }
        try await req.writeTransaction { db in
            try await user.delete(on: db)
            try await req.audit(.eliminar, "usuarios", id: userID, antes: try user.toDTO(fotoURL: nil), on: db)
        }
        try await BlobStore.releaseAll(Set(blobs), req: req)
        return .noContent
    }

    private func find(_ req: Request) async throws -> Usuario {
        try await req.findOr404(Usuario.self)
    }

    struct Fields {
        var email: String?
        var password: String?
        var nombre: String?
        var apellidos: String?
        var rol: Rol?
        var activo: Bool?
    }

    /// Reads and validates the writable fields; every problem is reported at once.
    private func read(_ input: inout JSONInput, req: Request, existing: Usuario?) async throws -> Fields {
        var fields = Fields()
        fields.email = input.email("email")
        fields.password = input.string("password", required: existing == nil, maxLength: 128, trim: false)
        fields.nombre = input.string("nombre", maxLength: 150)
        fields.apellidos = input.string("apellidos", required: false, allowBlank: true, maxLength: 150)
        fields.rol = input.choice("rol", Rol.self, required: false)
        fields.activo = input.bool("activo", required: false)
        if let email = fields.email, try await UsuarioRules.emailTaken(email, excluding: existing?.id, on: req.db) {
            input.errors.add("email", UsuarioRules.duplicateEmail)
        }
        if let password = fields.password {
            let messages = PasswordValidators.validate(
                password, email: fields.email ?? existing?.email, nombre: fields.nombre ?? existing?.nombre,
                apellidos: fields.apellidos ?? existing?.apellidos)
            for message in messages { input.errors.add("password", message) }
        }
        if let existing, existing.id == req.authenticatedUser?.id {
            if let rol = fields.rol, rol != existing.rol {
                input.errors.add("rol", "No puede cambiar su propio rol.")
            }
            if fields.activo == false {
                input.errors.add("activo", "No puede desactivar su propia cuenta.")
            }
            // Changing one's own password requires the current one (a stolen token must not suffice).
            if fields.password != nil {
                input.errors.add("password", "Para cambiar su propia contraseña use /api/auth/cambiar-password/.")
            }
        }
        try input.finish()
        return fields
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
