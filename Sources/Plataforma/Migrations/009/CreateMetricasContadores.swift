import Fluent
import Foundation
import SQLKit

/// The counts of `/api/metricas/` and of the `/metrics` gauges (mentors, active mentors, active
/// projects), kept by triggers on `mentores` and `proyectos` in the transaction of every insert,
/// delete and change of `activo`/`estado`, so reading them never counts rows.
struct CreateMetricasContadores: AsyncMigration {
    /// Each counter and the `COUNT(*)` that defines it (the backfill, and what tests compare with).
    static let counters: [(clave: String, count: String)] = [
        ("mentores", "SELECT COUNT(*) FROM mentores"),
        ("mentores_activos", "SELECT COUNT(*) FROM mentores WHERE activo = \(trueLiteral)"),
        ("proyectos_activos", "SELECT COUNT(*) FROM proyectos WHERE estado = 'activo'"),
    ]
    /// `TRUE` reads as 1 on SQLite (3.23+) and as a boolean on PostgreSQL.
    static let trueLiteral = "TRUE"

    /// The change one row makes to a counter: `condition` on NEW counts +1, on OLD −1.
    private struct Delta: Sendable {
        var clave: String
        /// A condition on the placeholder row `ROW`.
        var template: String

        func condition(_ row: String) -> String { template.replacingOccurrences(of: "ROW.", with: row + ".") }
    }

    private static let mentores = [
        Delta(clave: "mentores", template: "1 = 1"),
        Delta(clave: "mentores_activos", template: "ROW.activo = \(trueLiteral)"),
    ]
    private static let proyectos = [Delta(clave: "proyectos_activos", template: "ROW.estado = 'activo'")]

    func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(table: "metricas_contadores")
            .column("clave", type: .text, .primaryKey(autoIncrement: false))
            .column("valor", type: .bigint, .notNull)
            .run()
        try await Self.fill(sql)
        if sql.dialect.name == "sqlite" {
            try await createSQLiteTriggers(sql, table: "mentores", watched: "activo", deltas: Self.mentores)
            try await createSQLiteTriggers(sql, table: "proyectos", watched: "estado", deltas: Self.proyectos)
        } else {
            try await createPostgresTrigger(sql, table: "mentores", watched: "activo", deltas: Self.mentores)
            try await createPostgresTrigger(sql, table: "proyectos", watched: "estado", deltas: Self.proyectos)
        }
    }

    /// Inserts every counter with its `COUNT(*)` (into an empty table: the migration, `rebuild-metricas`).
    static func fill(_ sql: any SQLDatabase) async throws {
        for counter in counters {
            try await sql.raw("INSERT INTO metricas_contadores (clave, valor) VALUES (\(bind: counter.clave), (\(unsafeRaw: counter.count)))").run()
        }
    }

    /// `(CASE WHEN NEW.x THEN 1 ELSE 0 END) - (CASE WHEN OLD.x …)`; an absent side is 0.
    private static func change(_ delta: Delta, new: Bool, old: Bool) -> String {
        let plus = new ? "(CASE WHEN \(delta.condition("NEW")) THEN 1 ELSE 0 END)" : "0"
        return old ? "\(plus) - (CASE WHEN \(delta.condition("OLD")) THEN 1 ELSE 0 END)" : plus
    }

    private func createSQLiteTriggers(_ sql: any SQLDatabase, table: String, watched: String, deltas: [Delta]) async throws {
        for (event, new, old) in [("INSERT", true, false), ("DELETE", false, true), ("UPDATE OF \(watched)", true, true)] {
            // Rows whose change is 0 are not written: an UPDATE that keeps `activo` takes no lock.
            let body: String = deltas.map { delta -> String in
                let change = Self.change(delta, new: new, old: old)
                return "UPDATE metricas_contadores SET valor = valor + (\(change)) WHERE clave = '\(delta.clave)' AND (\(change)) <> 0;"
            }.joined(separator: "\n")
            let name = "metricas_contar_\(table)_\(event.split(separator: " ")[0].lowercased())"
            try await sql.raw("CREATE TRIGGER \(unsafeRaw: name) AFTER \(unsafeRaw: event) ON \(unsafeRaw: table) FOR EACH ROW BEGIN\n\(unsafeRaw: body)\nEND").run()
        }
    }

    private func createPostgresTrigger(_ sql: any SQLDatabase, table: String, watched: String, deltas: [Delta]) async throws {
        let variables: String = deltas.indices.map { "d\($0) bigint := 0;" }.joined(separator: " ")
        let whenOld: String = deltas.enumerated().map { "d\($0.offset) := d\($0.offset) + \(Self.change($0.element, new: false, old: true));" }.joined(separator: " ")
        let whenNew: String = deltas.enumerated().map { "d\($0.offset) := d\($0.offset) + \(Self.change($0.element, new: true, old: false));" }.joined(separator: " ")
        let writes: String = deltas.enumerated().map {
            "IF d\($0.offset) <> 0 THEN UPDATE metricas_contadores SET valor = valor + d\($0.offset) WHERE clave = '\($0.element.clave)'; END IF;"
        }.joined(separator: "\n    ")
        try await sql.raw("""
            CREATE FUNCTION metricas_contar_\(unsafeRaw: table)() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE \(unsafeRaw: variables)
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN \(unsafeRaw: whenOld) END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') THEN \(unsafeRaw: whenNew) END IF;
                \(unsafeRaw: writes)
                RETURN NULL;
            END
            $$
            """).run()
        try await sql.raw("""
            CREATE TRIGGER metricas_contar_\(unsafeRaw: table) AFTER INSERT OR DELETE OR UPDATE OF \(unsafeRaw: watched) ON \(unsafeRaw: table)
            FOR EACH ROW EXECUTE FUNCTION metricas_contar_\(unsafeRaw: table)()
            """).run()
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        for table in ["mentores", "proyectos"] {
            if sql.dialect.name == "sqlite" {
                for event in ["insert", "delete", "update"] {
                    try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: "metricas_contar_\(table)_\(event)")").run()
                }
            } else {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: "metricas_contar_\(table)") ON \(unsafeRaw: table)").run()
                try await sql.raw("DROP FUNCTION IF EXISTS \(unsafeRaw: "metricas_contar_\(table)")()").run()
            }
        }
        try await sql.drop(table: "metricas_contadores").run()
    }
}
