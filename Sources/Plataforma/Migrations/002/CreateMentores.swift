import Fluent
import SQLKit

struct CreateMentores: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Conocimiento.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("nombre", .string, .required)
            .field("nombre_clave", .string, .required)
            .field("categoria", .string, .required)
            .unique(on: "nombre_clave", name: "conocimientos_nombre_clave_key")
            .create()
        try await database.schema(Mentor.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("usuario_id", .int, .references(Usuario.schema, .id, onDelete: .setNull))
            .field("nombre", .string, .required)
            .field("apellidos", .string, .required)
            .field("email", .string, .required)
            .field("email_clave", .string, .required)
            .field("telefono_cifrado", .string)
            .field("documento_cifrado", .string)
            .field("biografia", .string, .required)
            .field("activo", .bool, .required)
            .field("fecha_alta", .string, .required)
            .unique(on: "email_clave", name: "mentores_email_clave_key")
            .unique(on: "usuario_id", name: "mentores_usuario_id_key")
            .create()
        try await database.schema(MentorConocimiento.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("mentor_id", .int, .required, .references(Mentor.schema, .id, onDelete: .cascade))
            .field("conocimiento_id", .int, .required, .references(Conocimiento.schema, .id, onDelete: .cascade))
            .field("nivel", .string, .required)
            .unique(on: "mentor_id", "conocimiento_id", name: "mentor_conocimientos_par_key")
            .create()
        try await database.schema(Disponibilidad.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("mentor_id", .int, .required, .references(Mentor.schema, .id, onDelete: .cascade))
            .field("dia_semana", .int, .required)
            .field("hora_inicio", .int, .required)
            .field("hora_fin", .int, .required)
            .create()
        try await database.schema(Certificado.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("mentor_id", .int, .required, .references(Mentor.schema, .id, onDelete: .cascade))
            .field("nombre", .string, .required)
            .field("entidad", .string, .required)
            .field("fecha_obtencion", .string, .required)
            .field("fecha_expiracion", .string)
            .field("creado", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        for (name, table, columns) in [
            ("mentor_conocimientos_conocimiento_idx", MentorConocimiento.schema, ["conocimiento_id"]),
            ("disponibilidades_mentor_dia_idx", Disponibilidad.schema, ["mentor_id", "dia_semana"]),
            ("certificados_mentor_idx", Certificado.schema, ["mentor_id"]),
            ("mentores_nombre_idx", Mentor.schema, ["nombre"]),
        ] {
            let builder = sql.create(index: name).on(table)
            for column in columns { builder.column(column) }
            try await builder.run()
        }
    }

    func revert(on database: any Database) async throws {
        for schema in [Certificado.schema, Disponibilidad.schema, MentorConocimiento.schema, Mentor.schema, Conocimiento.schema] {
            try await database.schema(schema).delete()
        }
    }
}
