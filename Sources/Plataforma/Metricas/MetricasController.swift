import Fluent
import SQLKit
import Vapor

/// `GET /api/metricas/`: admins and coordinators (SPEC §4, §5).
struct MetricasController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("metricas", use: show).readsDatabaseSnapshot()
    }

    @Sendable func show(req: Request) async throws -> Response {
        try req.authorize(.leer, on: .metricas)
        let filtro = try Self.filtro(req)
        if let proyecto = filtro.proyecto, try await Proyecto.find(proyecto, on: req.db) == nil {
            throw APIError.field("proyecto", "Escoja una opción válida. Esa opción no está entre las disponibles.")
        }
        guard let sql = req.db as? any SQLDatabase else { throw APIError.serverError }
        let today = LocalDate.today(in: req.application.settings.timeZone)
        // "Today" is part of the key: the current month's figure changes at midnight without a write.
        let key = "\(today)|\(filtro.cacheKey)"
        guard let validator = try await MetricasCache.validator(req, on: sql) else {
            MetricasCache.count(.sinCache)
            return Self.json(try await Self.compute(filtro, today: today, on: sql), cache: "miss")
        }
        let redis = req.application.redis
        let answer = try await req.application.metricasCache.answer(for: key, validator: validator) {
            if let payload = await redis?.cachedMetricas(key, validator: validator) { return (payload, .redis) }
            let payload = try await Self.compute(filtro, today: today, on: sql)
            await redis?.storeMetricas(key, validator: validator, payload: payload)
            return (payload, .calculado)
        }
        MetricasCache.count(answer.resultado)
        return Self.json(answer.payload, cache: answer.resultado == .calculado ? "miss" : "hit")
    }

    private static func compute(_ filtro: MetricasFiltro, today: LocalDate, on sql: any SQLDatabase) async throws -> ByteBuffer {
        ByteBuffer(data: try APIJSON.encoder.encode(try await MetricasQuery.compute(filtro, today: today, on: sql)))
    }

    private static func json(_ payload: ByteBuffer, cache: String) -> Response {
        var headers = HTTPHeaders([("Content-Type", "application/json; charset=utf-8"), ("X-Cache", cache)])
        headers.replaceOrAdd(name: .cacheControl, value: "private, no-cache")
        return Response(status: .ok, headers: headers, body: .init(buffer: payload))
    }

    static func filtro(_ req: Request) throws -> MetricasFiltro {
        var filters = QueryFilters(req)
        let filtro = MetricasFiltro(proyecto: filters.id("proyecto"), desde: filters.date("desde"), hasta: filters.date("hasta"))
        if let desde = filtro.desde, let hasta = filtro.hasta, hasta < desde {
            filters.errors.add("hasta", "Debe ser igual o posterior a desde.")
        }
        try filters.finish()
        return filtro
    }
}
