import Fluent
import SQLKit
import Vapor

extension MetricasQuery {
    /// Recomputes every aggregate (`metricas_mes`, `metricas_dia`) and counter
    /// (`metricas_contadores`) from the tables they summarize, in one transaction. On PostgreSQL
    /// the tables are truncated first, which also gives them back the space that a bulk load's
    /// millions of trigger updates left behind (dead row versions that VACUUM marks reusable but
    /// does not return, and that every read of an aggregate would otherwise scan). Writers that
    /// arrive meanwhile wait for the truncation's lock and then apply their change on top.
    static func rebuild(_ app: Application) async throws {
        // On SQLite, in turn with the API's write transactions (see `writeTransaction`).
        guard let lock = app.sqliteWriteLock else { return try await rebuild(on: app.db) }
        try await lock.withLock { try await rebuild(on: app.db) }
    }

    private static func rebuild(on database: any Database) async throws {
        try await database.transaction { db in
            guard let sql = db as? any SQLDatabase else { return }
            let tables = CreateMetricasHoras.tables.map(\.name) + ["metricas_contadores"]
            if sql.dialect.name == "postgresql" {
                try await sql.raw("TRUNCATE \(unsafeRaw: tables.joined(separator: ", "))").run()
            } else {
                for table in tables { try await sql.raw("DELETE FROM \(ident: table)").run() }
            }
            for table in CreateMetricasHoras.tables {
                let period = table.expression("registro_horas")
                try await sql.raw("""
                    INSERT INTO \(ident: table.name) (proyecto_id, \(ident: table.period), estado, horas, registros)
                    SELECT proyecto_id, \(unsafeRaw: period), estado, SUM(horas), COUNT(*)
                    FROM registro_horas GROUP BY proyecto_id, \(unsafeRaw: period), estado
                    """).run()
            }
            try await CreateMetricasContadores.fill(sql)
        }
    }
}

/// `plataforma rebuild-metricas`: recomputes the métricas aggregates and counters from the records
/// (after a bulk load, or a repair made with the triggers off) and compacts them.
struct RebuildMetricasCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Recalcula los agregados y contadores de métricas a partir de los registros (y los compacta)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let start = Date()
        try await MetricasQuery.rebuild(app)
        await app.invalidateMetricasGeneration()
        context.console.print(String(format: "Métricas recalculadas en %.1f s.", Date().timeIntervalSince(start)))
    }
}
