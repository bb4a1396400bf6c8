import Fluent

struct CreateIdempotencia: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(IdempotencyRecord.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("usuario_id", .int, .required, .references(Usuario.schema, .id, onDelete: .cascade))
            .field("clave", .string, .required)
            .field("hash", .string, .required)
            .field("estado", .string, .required)
            .field("status", .int)
            .field("respuesta", .string)
            .field("creado", .datetime, .required)
            .unique(on: "usuario_id", "clave", name: "idempotencia_usuario_clave_key")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(IdempotencyRecord.schema).delete()
    }
}
