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

        let counts = try await Self.counts(on: sql)
        var totals: [String: Int] = [:]
        for row in try await sql.raw("""
            SELECT m.estado AS estado, CAST(SUM(m.horas) AS BIGINT) AS horas FROM \(source) m WHERE \(scope) GROUP BY m.estado
            """).all() {
            totals[try row.decode(column: "estado", as: String.self)] = try row.decode(column: "horas", as: Int?.self) ?? 0
        }
        let aprobado: SQLQueryString = "m.estado = \(bind: EstadoRegistro.aprobado.rawValue)"
        let porMes = try await sql.raw("""
            SELECT \(period) AS mes, CAST(SUM(m.horas) AS BIGINT) AS horas FROM \(source) m
            WHERE \(scope) AND \(aprobado) GROUP BY \(period) HAVING SUM(m.registros) > 0 ORDER BY mes
            """).all().map { row in
            Metricas.Mes(mes: try row.decode(column: "mes", as: String.self), horas: Hours.value(try row.decode(column: "horas", as: Int.self)))
        }
        let porProyecto = try await sql.raw("""
            SELECT m.proyecto_id AS proyecto, p.nombre AS nombre, CAST(SUM(m.horas) AS BIGINT) AS horas
            FROM \(source) m JOIN proyectos p ON p.id = m.proyecto_id
            WHERE \(scope) AND \(aprobado) GROUP BY m.proyecto_id, p.nombre HAVING SUM(m.registros) > 0
            ORDER BY horas DESC, proyecto LIMIT 10
            """).all().map { row in
            Metricas.PorProyecto(proyecto: try row.decode(column: "proyecto", as: Int.self),
                                 nombre: try row.decode(column: "nombre", as: String.self),
                                 horas: Hours.value(try row.decode(column: "horas", as: Int.self)))
        }
        return Metricas(
            proyectosActivos: counts.proyectosActivos, mentoresRegistrados: counts.mentores, mentoresActivos: counts.mentoresActivos,
            horasTotales: Hours.value(totals[EstadoRegistro.aprobado.rawValue] ?? 0),
            horasPendientes: Hours.value(totals[EstadoRegistro.pendiente.rawValue] ?? 0),
            horasMesActual: Hours.value(try await currentMonth(filtro, today: today, on: sql)),
            horasPorMes: porMes, horasPorProyecto: porProyecto)
    }

    /// Approved hours this month, within `desde`/`hasta` when given.
    private static func currentMonth(_ filtro: MetricasFiltro, today: LocalDate, on sql: any SQLDatabase) async throws -> Int {
        let aprobado = EstadoRegistro.aprobado.rawValue
        let row: (any SQLRow)?
        if filtro.desde == nil, filtro.hasta == nil {
            let proyecto: SQLQueryString = filtro.proyecto.map { "AND m.proyecto_id = \(bind: $0)" } ?? ""
            row = try await sql.raw("""
                SELECT CAST(SUM(m.horas) AS BIGINT) AS horas FROM metricas_mes m
                WHERE m.estado = \(bind: aprobado) AND m.mes = \(bind: today.monthKey) \(proyecto)
                """).first()
        } else {
            let first = LocalDate(year: today.year, month: today.month, day: 1) ?? today
            let last = LocalDate(year: today.year, month: today.month, day: LocalDate.daysIn(month: today.month, year: today.year)) ?? today
            let lower = max(first, filtro.desde ?? first), upper = min(last, filtro.hasta ?? last)
            guard lower <= upper else { return 0 }
            row = try await sql.raw("""
                SELECT CAST(SUM(m.horas) AS BIGINT) AS horas FROM metricas_dia m
                WHERE m.estado = \(bind: aprobado) AND \(conditions(filtro, lower: lower, upper: upper))
                """).first()
        }
        return try row?.decode(column: "horas", as: Int?.self) ?? 0
    }

    /// The project and date conditions on the aggregate alias `m` (dates only on `metricas_dia`).
    private static func conditions(_ filtro: MetricasFiltro, lower: LocalDate?, upper: LocalDate?) -> SQLQueryString {
        var parts: [SQLQueryString] = ["1 = 1"]
        if let proyecto = filtro.proyecto { parts.append("m.proyecto_id = \(bind: proyecto)") }
        if let lower { parts.append("m.fecha >= \(bind: lower.description)") }
        if let upper { parts.append("m.fecha <= \(bind: upper.description)") }
        return parts.joined(separator: " AND ")
    }

    /// Active projects, mentors, active mentors: the figures no filter applies to.
    static func counts(on sql: any SQLDatabase) async throws -> (proyectosActivos: Int, mentores: Int, mentoresActivos: Int) {
        let row = try await sql.raw("""
            SELECT (SELECT COUNT(*) FROM proyectos WHERE estado = \(bind: EstadoProyecto.activo.rawValue)) AS proyectos,
                   (SELECT COUNT(*) FROM mentores) AS mentores,
                   (SELECT COUNT(*) FROM mentores WHERE activo = \(bind: true)) AS activos
            """).first()
        return (try row?.decode(column: "proyectos", as: Int.self) ?? 0, try row?.decode(column: "mentores", as: Int.self) ?? 0,
                try row?.decode(column: "activos", as: Int.self) ?? 0)
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
