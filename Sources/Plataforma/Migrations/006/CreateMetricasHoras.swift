import Fluent
import SQLKit

/// Hour aggregates per project, month or day, and state, kept by triggers on `registro_horas`:
/// every insert, update and delete (any code path, batch reviews and seeding included) moves
/// them in the same transaction, so `/api/metricas/` never scans the hour records.
struct CreateMetricasHoras: AsyncMigration {
    static let tables: [(name: String, period: String, expression: @Sendable (String) -> String)] = [
        ("metricas_mes", "mes", { "substr(\($0).fecha, 1, 7)" }),
        ("metricas_dia", "fecha", { "\($0).fecha" }),
    ]

    func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        for table in Self.tables {
            try await sql.create(table: table.name)
                .column("proyecto_id", type: .bigint, .notNull)
                .column(table.period, type: .text, .notNull)
                .column("estado", type: .text, .notNull)
                .column("horas", type: .bigint, .notNull)
                .column("registros", type: .bigint, .notNull)
                .primaryKey(["proyecto_id", table.period, "estado"])
                .run()
            try await sql.raw("""
                INSERT INTO \(unsafeRaw: table.name) (proyecto_id, \(unsafeRaw: table.period), estado, horas, registros)
                SELECT proyecto_id, \(unsafeRaw: table.expression("registro_horas")), estado, SUM(horas), COUNT(*)
                FROM registro_horas GROUP BY proyecto_id, \(unsafeRaw: table.expression("registro_horas")), estado
                """).run()
        }
        try await sql.create(index: "metricas_mes_estado_idx").on("metricas_mes").column("estado").column("mes").run()
        try await sql.create(index: "metricas_dia_estado_idx").on("metricas_dia").column("estado").column("fecha").run()
        if sql.dialect.name == "sqlite" {
            try await createSQLiteTriggers(sql)
        } else {
            try await createPostgresTrigger(sql)
        }
    }

    /// `INSERT … ON CONFLICT DO UPDATE` of one row's contribution (`sign` -1 takes it away).
    private static func upserts(row: String, sign: String) -> String {
        tables.map { table in
            """
            INSERT INTO \(table.name) (proyecto_id, \(table.period), estado, horas, registros)
            VALUES (\(row).proyecto_id, \(table.expression(row)), \(row).estado, \(sign)\(row).horas, \(sign)1)
            ON CONFLICT (proyecto_id, \(table.period), estado) DO UPDATE
            SET horas = \(table.name).horas + excluded.horas, registros = \(table.name).registros + excluded.registros;
            """
        }.joined(separator: "\n")
    }

    private func createSQLiteTriggers(_ sql: any SQLDatabase) async throws {
        let watched = "UPDATE OF proyecto_id, fecha, estado, horas"
        for (name, event, body) in [
            ("metricas_registro_insert", "INSERT", Self.upserts(row: "NEW", sign: "")),
            ("metricas_registro_delete", "DELETE", Self.upserts(row: "OLD", sign: "-")),
            ("metricas_registro_update", watched, Self.upserts(row: "OLD", sign: "-") + "\n" + Self.upserts(row: "NEW", sign: "")),
        ] {
            try await sql.raw("CREATE TRIGGER \(unsafeRaw: name) AFTER \(unsafeRaw: event) ON registro_horas FOR EACH ROW BEGIN\n\(unsafeRaw: body)\nEND").run()
        }
    }

    private func createPostgresTrigger(_ sql: any SQLDatabase) async throws {
        try await sql.raw("""
            CREATE FUNCTION metricas_registro_horas() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
            \(unsafeRaw: Self.upserts(row: "OLD", sign: "-"))
                END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') THEN
            \(unsafeRaw: Self.upserts(row: "NEW", sign: ""))
                END IF;
                RETURN NULL;
            END
            $$
            """).run()
        try await sql.raw("""
            CREATE TRIGGER metricas_registro_horas
            AFTER INSERT OR DELETE OR UPDATE OF proyecto_id, fecha, estado, horas ON registro_horas
            FOR EACH ROW EXECUTE FUNCTION metricas_registro_horas()
            """).run()
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        if sql.dialect.name == "sqlite" {
            for name in ["metricas_registro_insert", "metricas_registro_delete", "metricas_registro_update"] {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: name)").run()
            }
        } else {
            try await sql.raw("DROP TRIGGER IF EXISTS metricas_registro_horas ON registro_horas").run()
            try await sql.raw("DROP FUNCTION IF EXISTS metricas_registro_horas()").run()
        }
        for table in Self.tables { try await sql.drop(table: table.name).run() }
    }
}
