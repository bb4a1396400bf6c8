import Fluent

/// Agenda feed tokens are derived from a per-user nonce and the secret key, so the URL can be
/// shown again while only the token's hash is stored (rows without a nonce get a new token).
struct UpdateAgendaTokenAddNonce: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AgendaToken.schema)
            .field("nonce", .string, .required, .sql(.default("")))
            .update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AgendaToken.schema).deleteField("nonce").update()
    }
}
