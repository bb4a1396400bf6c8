import Fluent
import SQLKit

struct CreateAuditoria: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(EntradaAuditoria.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("usuario_id", .int, .references(Usuario.schema, .id, onDelete: .setNull))
            .field("accion", .string, .required)
            .field("recurso", .string, .required)
            .field("recurso_id", .string)
            .field("cambios", .string)
            .field("ip", .string, .required)
            .field("fecha", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        for (name, columns) in [("auditoria_usuario_idx", ["usuario_id", "id"]), ("auditoria_recurso_idx", ["recurso", "id"]),
                                ("auditoria_accion_idx", ["accion", "id"]), ("auditoria_fecha_idx", ["fecha"])] {
            let builder = sql.create(index: name).on(EntradaAuditoria.schema)
            for column in columns { builder.column(column) }
            try await builder.run()
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema(EntradaAuditoria.schema).delete()
    }
}
