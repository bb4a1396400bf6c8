import Fluent
import SQLKit

struct CreateCalendario: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(CalendarioAcademico.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("nombre", .string, .required)
            .field("fecha_inicio", .string, .required)
            .field("fecha_fin", .string, .required)
            .field("dias_habiles", .string, .required)
            .field("activo", .bool, .required)
            .create()
        try await database.schema(DiaNoLectivo.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("calendario_id", .int, .required, .references(CalendarioAcademico.schema, .id, onDelete: .cascade))
            .field("fecha", .string, .required)
            .field("descripcion", .string, .required)
            .unique(on: "calendario_id", "fecha", name: "dias_no_lectivos_calendario_fecha_key")
            .create()
        try await database.schema(Horario.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("grupo_id", .int, .required, .references(Grupo.schema, .id, onDelete: .cascade))
            .field("calendario_id", .int, .required, .references(CalendarioAcademico.schema, .id, onDelete: .cascade))
            .field("dia_semana", .int, .required)
            .field("hora_inicio", .int, .required)
            .field("hora_fin", .int, .required)
            .field("aula", .string, .required)
            .create()
        try await database.schema(AgendaToken.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("usuario_id", .int, .required, .references(Usuario.schema, .id, onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("creado", .datetime, .required)
            .unique(on: "usuario_id", name: "agenda_tokens_usuario_key")
            .unique(on: "token_hash", name: "agenda_tokens_hash_key")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "horarios_grupo_idx").on(Horario.schema).column("grupo_id").column("dia_semana").run()
        try await sql.create(index: "horarios_calendario_idx").on(Horario.schema).column("calendario_id").run()
        try await sql.create(index: "calendarios_rango_idx").on(CalendarioAcademico.schema).column("fecha_inicio").column("fecha_fin").run()
    }

    func revert(on database: any Database) async throws {
        for schema in [AgendaToken.schema, Horario.schema, DiaNoLectivo.schema, CalendarioAcademico.schema] {
            try await database.schema(schema).delete()
        }
    }
}
