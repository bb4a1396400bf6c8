import Fluent
import SQLKit

struct CreateProyectos: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Proyecto.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("nombre", .string, .required)
            .field("descripcion", .string, .required)
            .field("estado", .string, .required)
            .field("fecha_inicio", .string, .required)
            .field("fecha_fin", .string)
            .field("horas_estimadas", .int, .required)
            .field("coordinador_id", .int, .references(Usuario.schema, .id, onDelete: .setNull))
            .field("creado", .datetime, .required)
            .field("actualizado", .datetime, .required)
            .create()
        try await database.schema(ProyectoMentor.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("proyecto_id", .int, .required, .references(Proyecto.schema, .id, onDelete: .cascade))
            .field("mentor_id", .int, .required, .references(Mentor.schema, .id, onDelete: .cascade))
            .unique(on: "proyecto_id", "mentor_id", name: "proyecto_mentores_par_key")
            .create()
        try await database.schema(Grupo.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("proyecto_id", .int, .required, .references(Proyecto.schema, .id, onDelete: .cascade))
            .field("nombre", .string, .required)
            .field("nombre_clave", .string, .required)
            .field("descripcion", .string, .required)
            .field("num_estudiantes", .int, .required)
            .unique(on: "proyecto_id", "nombre_clave", name: "grupos_proyecto_nombre_key")
            .create()
        try await database.schema(GrupoMentor.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("grupo_id", .int, .required, .references(Grupo.schema, .id, onDelete: .cascade))
            .field("mentor_id", .int, .required, .references(Mentor.schema, .id, onDelete: .cascade))
            .unique(on: "grupo_id", "mentor_id", name: "grupo_mentores_par_key")
            .create()
        try await database.schema(RegistroHoras.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("mentor_id", .int, .required, .references(Mentor.schema, .id, onDelete: .restrict))
            .field("proyecto_id", .int, .required, .references(Proyecto.schema, .id, onDelete: .restrict))
            .field("grupo_id", .int, .references(Grupo.schema, .id, onDelete: .setNull))
            .field("fecha", .string, .required)
            .field("hora_inicio", .int, .required)
            .field("hora_fin", .int, .required)
            .field("horas", .int, .required)
            .field("descripcion", .string, .required)
            .field("estado", .string, .required)
            .field("revisado_por_id", .int, .references(Usuario.schema, .id, onDelete: .setNull))
            .field("fecha_revision", .datetime)
            .field("motivo_rechazo", .string, .required)
            .field("creado", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        for (name, table, columns) in [
            ("proyecto_mentores_mentor_idx", ProyectoMentor.schema, ["mentor_id"]),
            ("grupos_proyecto_idx", Grupo.schema, ["proyecto_id"]),
            ("grupo_mentores_mentor_idx", GrupoMentor.schema, ["mentor_id"]),
            ("registro_horas_mentor_fecha_idx", RegistroHoras.schema, ["mentor_id", "fecha"]),
            ("registro_horas_proyecto_estado_idx", RegistroHoras.schema, ["proyecto_id", "estado"]),
            ("registro_horas_fecha_idx", RegistroHoras.schema, ["fecha"]),
        ] {
            let builder = sql.create(index: name).on(table)
            for column in columns { builder.column(column) }
            try await builder.run()
        }
    }

    func revert(on database: any Database) async throws {
        for schema in [RegistroHoras.schema, GrupoMentor.schema, Grupo.schema, ProyectoMentor.schema, Proyecto.schema] {
            try await database.schema(schema).delete()
        }
    }
}
