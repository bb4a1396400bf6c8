import Fluent
import SQLKit
import Vapor

/// `GET /api/metricas/` (SPEC §5): counts and hour figures for administrators.
struct Metricas: Content, Equatable {
    struct Mes: Content, Equatable {
        var mes: String
        var horas: Double
    }

    struct PorProyecto: Content, Equatable {
        var proyecto: Int
        var nombre: String
        var horas: Double
    }

    var proyectosActivos: Int
    var mentoresRegistrados: Int
    var mentoresActivos: Int
    var horasTotales: Double
    var horasPendientes: Double
    var horasMesActual: Double
    var horasPorMes: [Mes]
    var horasPorProyecto: [PorProyecto]
}

/// The filters of `/api/metricas/`; they apply to every hour figure.
struct MetricasFiltro: Sendable, Hashable {
    var proyecto: Int?
    var desde: LocalDate?
    var hasta: LocalDate?

    /// A key for caches: every filter, in a fixed order.
    var cacheKey: String {
        "p=\(proyecto.map(String.init) ?? "")&d=\(desde?.description ?? "")&h=\(hasta?.description ?? "")"
    }
}

/// Reads the figures from the aggregates the triggers of `CreateMetricasHoras` keep: months when
/// no dates are given, days otherwise. Each query reads at most (projects × periods × states) rows,
/// however many hour records there are.
enum MetricasQuery {
    static func compute(_ filtro: MetricasFiltro, today: LocalDate, on sql: any SQLDatabase) async throws -> Metricas {
        let byDay = filtro.desde != nil || filtro.hasta != nil
        let source: SQLQueryString = byDay ? "metricas_dia" : "metricas_mes"
        let period: SQLQueryString = byDay ? "substr(m.fecha, 1, 7)" : "m.mes"
        let scope = conditions(filtro, lower: filtro.desde, upper: filtro.hasta)
        let aprobado = EstadoRegistro.aprobado.rawValue

        let counts = try await Self.counts(on: sql)
        // One pass gives the totals by state, the approved months and the current month: the
        // scope already holds the project and the dates, so the current month's figure within
        // `desde`/`hasta` is its row here.
        var totals: [String: Int] = [:], porMes: [Metricas.Mes] = [], mesActual = 0
        for row in try await sql.raw("""
            SELECT m.estado AS estado, \(period) AS mes, CAST(SUM(m.horas) AS BIGINT) AS horas, CAST(SUM(m.registros) AS BIGINT) AS registros
            FROM \(source) m WHERE \(scope) GROUP BY m.estado, \(period) ORDER BY mes
            """).all() {
            let estado = try row.decode(column: "estado", as: String.self), mes = try row.decode(column: "mes", as: String.self)
            let horas = try row.decode(column: "horas", as: Int?.self) ?? 0
            totals[estado, default: 0] += horas
            guard estado == aprobado else { continue }
            if try row.decode(column: "registros", as: Int?.self) ?? 0 > 0 { porMes.append(Metricas.Mes(mes: mes, horas: Hours.value(horas))) }
            if mes == today.monthKey { mesActual = horas }
        }
        // The ten projects first, then their names: the join reads ten rows, not every project.
        let porProyecto = try await sql.raw("""
            SELECT t.proyecto AS proyecto, p.nombre AS nombre, t.horas AS horas FROM (
                SELECT m.proyecto_id AS proyecto, CAST(SUM(m.horas) AS BIGINT) AS horas FROM \(source) m
                WHERE \(scope) AND m.estado = \(bind: aprobado) GROUP BY m.proyecto_id HAVING SUM(m.registros) > 0
                ORDER BY horas DESC, proyecto LIMIT 10
            ) t JOIN proyectos p ON p.id = t.proyecto ORDER BY t.horas DESC, t.proyecto
            """).all().map { row in
            Metricas.PorProyecto(proyecto: try row.decode(column: "proyecto", as: Int.self),
                                 nombre: try row.decode(column: "nombre", as: String.self),
                                 horas: Hours.value(try row.decode(column: "horas", as: Int.self)))
        }
        return Metricas(
            proyectosActivos: counts.proyectosActivos, mentoresRegistrados: counts.mentores, mentoresActivos: counts.mentoresActivos,
            horasTotales: Hours.value(totals[aprobado] ?? 0),
            horasPendientes: Hours.value(totals[EstadoRegistro.pendiente.rawValue] ?? 0),
            horasMesActual: Hours.value(mesActual), horasPorMes: porMes, horasPorProyecto: porProyecto)
    }

    /// The project and date conditions on the aggregate alias `m` (dates only on `metricas_dia`).
    private static func conditions(_ filtro: MetricasFiltro, lower: LocalDate?, upper: LocalDate?) -> SQLQueryString {
        var parts: [SQLQueryString] = ["1 = 1"]
        if let proyecto = filtro.proyecto { parts.append("m.proyecto_id = \(bind: proyecto)") }
        if let lower { parts.append("m.fecha >= \(bind: lower.description)") }
        if let upper { parts.append("m.fecha <= \(bind: upper.description)") }
        return parts.joined(separator: " AND ")
    }

    /// Active projects, mentors, active mentors: the figures no filter applies to, read from the
    /// counters the triggers of `CreateMetricasContadores` keep.
    static func counts(on sql: any SQLDatabase) async throws -> (proyectosActivos: Int, mentores: Int, mentoresActivos: Int) {
        var values: [String: Int] = [:]
        for row in try await sql.raw("SELECT clave, valor FROM metricas_contadores").all() {
            values[try row.decode(column: "clave", as: String.self)] = try row.decode(column: "valor", as: Int.self)
        }
        return (values["proyectos_activos"] ?? 0, values["mentores"] ?? 0, values["mentores_activos"] ?? 0)
    }

    /// Hours (hundredths) by state over everything in `table`: `metricas_mes` for the gauges,
    /// `registro_horas` for the plain `SUM` the aggregates must always agree with.
    static func totalsByState(from table: String = "metricas_mes", on sql: any SQLDatabase) async throws -> [String: Int] {
        var totals: [String: Int] = [:]
        for row in try await sql.raw("SELECT estado, CAST(SUM(horas) AS BIGINT) AS horas FROM \(ident: table) GROUP BY estado").all() {
            totals[try row.decode(column: "estado", as: String.self)] = try row.decode(column: "horas", as: Int?.self) ?? 0
        }
        return totals
    }
}

/// The trigger-kept counters (`metricas_contadores`) as SQL, for other queries that need an exact
/// count without counting rows (the unfiltered mentor list's total).
enum MetricasContadores {
    /// Every mentor, as `COUNT(*) FROM mentores` would say, in the same transaction's view.
    static let mentores: any SQLExpression & Sendable = SQLRaw("SELECT valor FROM metricas_contadores WHERE clave = 'mentores'")
}
