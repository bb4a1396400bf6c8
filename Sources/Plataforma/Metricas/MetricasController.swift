import Fluent
import SQLKit
import Vapor

/// `GET /api/metricas/`: admins and coordinators (SPEC §4, §5).
struct MetricasController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("metricas", use: show)
    }

    @Sendable func show(req: Request) async throws -> Metricas {
        try req.authorize(.leer, on: .metricas)
        let filtro = try Self.filtro(req)
        if let proyecto = filtro.proyecto, try await Proyecto.find(proyecto, on: req.db) == nil {
            throw APIError.field("proyecto", "Escoja una opción válida. Esa opción no está entre las disponibles.")
        }
        guard let sql = req.db as? any SQLDatabase else { throw APIError.serverError }
        let today = LocalDate.today(in: req.application.settings.timeZone)
        return try await MetricasQuery.compute(filtro, today: today, on: sql)
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
