import Fluent

/// The rows `WriteLock` updates to serialise writers (one per lock name).
struct CreateBloqueos: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(WriteLock.table)
            .field("nombre", .string, .required)
            .field("version", .int, .required)
            .unique(on: "nombre", name: "bloqueos_nombre_key")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(WriteLock.table).delete()
    }
}
