import Fluent
import SQLKit

/// An index for every default ordering and every filter of SPEC §5 that had none, so a list page
/// reads its rows in order instead of sorting the table (the mentor list sorted 10,000 rows for
/// each page of 20).
struct AddListIndexes: AsyncMigration {
    static let indexes: [(name: String, table: String, columns: [String])] = [
        // Mentores: the default order (apellidos, nombre, id) and fecha_alta.
        ("mentores_orden_idx", "mentores", ["apellidos", "nombre", "id"]),
        ("mentores_fecha_alta_idx", "mentores", ["fecha_alta"]),
        // Proyectos: newest first by default; estado and the orderings by nombre and fecha_inicio.
        ("proyectos_creado_idx", "proyectos", ["creado"]),
        ("proyectos_estado_idx", "proyectos", ["estado"]),
        ("proyectos_nombre_idx", "proyectos", ["nombre"]),
        ("proyectos_fecha_inicio_idx", "proyectos", ["fecha_inicio"]),
        // Registro de horas: the default order (fecha, hora_inicio descending), grupo, estado, creado.
        ("registro_horas_orden_idx", "registro_horas", ["fecha", "hora_inicio"]),
        ("registro_horas_grupo_idx", "registro_horas", ["grupo_id"]),
        ("registro_horas_estado_fecha_idx", "registro_horas", ["estado", "fecha"]),
        ("registro_horas_creado_idx", "registro_horas", ["creado"]),
        // Usuarios: rol; archivos: newest first.
        ("usuarios_rol_idx", "usuarios", ["rol"]),
        ("archivos_creado_idx", "archivos", ["creado"]),
    ]

    func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        // Its first column leads registro_horas_orden_idx, which serves every query it served.
        try await sql.drop(index: "registro_horas_fecha_idx").run()
        for index in Self.indexes {
            let builder = sql.create(index: index.name).on(index.table)
            for column in index.columns { builder.column(column) }
            try await builder.run()
        }
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        for index in Self.indexes.reversed() {
            try await sql.drop(index: index.name).run()
        }
        try await sql.create(index: "registro_horas_fecha_idx").on("registro_horas").column("fecha").run()
    }
}
