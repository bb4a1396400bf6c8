import Fluent

struct CreateUsuario: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Usuario.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("email", .string, .required)
            .field("email_clave", .string, .required)
            .field("password", .string, .required)
            .field("nombre", .string, .required)
            .field("apellidos", .string, .required)
            .field("rol", .string, .required)
            .field("activo", .bool, .required)
            .field("token_version", .int, .required)
            .field("fecha_creacion", .datetime, .required)
            .field("ultimo_acceso", .datetime)
            .field("password_cambiado", .datetime)
            .unique(on: "email_clave", name: "usuarios_email_clave_key")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Usuario.schema).delete()
    }
}

struct CreateTokenTables: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TokenFamilia.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("usuario_id", .int, .required, .references(Usuario.schema, .id, onDelete: .cascade))
            .field("creado", .datetime, .required)
            .field("revocado", .datetime)
            .field("motivo", .string)
            .create()
        try await database.schema(TokenEmitido.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("jti", .string, .required)
            .field("usuario_id", .int, .required, .references(Usuario.schema, .id, onDelete: .cascade))
            .field("familia_id", .int, .required, .references(TokenFamilia.schema, .id, onDelete: .cascade))
            .field("creado", .datetime, .required)
            .field("expira", .datetime, .required)
            .unique(on: "jti", name: "tokens_emitidos_jti_key")
            .create()
        try await database.schema(TokenRevocado.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("jti", .string, .required)
            .field("motivo", .string, .required)
            .field("fecha", .datetime, .required)
            .field("expira", .datetime, .required)
            .unique(on: "jti", name: "tokens_revocados_jti_key")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(TokenRevocado.schema).delete()
        try await database.schema(TokenEmitido.schema).delete()
        try await database.schema(TokenFamilia.schema).delete()
    }
}
