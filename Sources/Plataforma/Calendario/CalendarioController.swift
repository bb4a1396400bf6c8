import Fluent
import Vapor

/// `/api/calendarios/`: academic calendars and their business days. Mentors read; admins and
/// coordinators write.
struct CalendarioController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let calendarios = routes.grouped("calendarios")
        calendarios.get(use: list)
        calendarios.post(use: create)
        calendarios.get(":id", use: detail)
        calendarios.put(":id", use: replace)
        calendarios.patch(":id", use: patch)
        calendarios.delete(":id", use: delete)
        calendarios.get(":id", "dias-habiles", use: businessDays)
    }

    static let ordering: [String: FieldKey] = ["nombre": "nombre", "fecha_inicio": "fecha_inicio"]
    /// A request may ask for at most this many days (a leap year).
    static let maxRangeDays = 366

    static func find(_ req: Request) async throws -> CalendarioAcademico {
        try await req.findOr404(CalendarioAcademico.self)
    }

    @Sendable func list(req: Request) async throws -> Page<CalendarioDTO> {
        try req.authorize(.leer, on: .calendarios)
        var filters = QueryFilters(req)
        let activo = filters.bool("activo")
        try filters.finish()
        let query = CalendarioAcademico.query(on: req.db)
        if let activo { query.filter(\.$activo == activo) }
        SearchFilter.apply(query, request: req, columns: ["nombre"])
        OrderingFilter.apply(query, request: req, fields: Self.ordering, fallback: [("fecha_inicio", .descending)])
        return try await Paginator.paginate(query, request: req, map: { try $0.toDTO() })
    }

    @Sendable func detail(req: Request) async throws -> CalendarioDTO {
        try req.authorize(.leer, on: .calendarios)
        return try await Self.find(req).toDTO()
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.crear, on: .calendarios)
        var input = try JSONInput.parse(req)
        let fields = try CalendarioRules.read(&input, existing: nil)
        guard let inicio = fields.fechaInicio, let fin = fields.fechaFin else { throw APIError.parseError }
        let calendar = CalendarioAcademico(nombre: fields.nombre ?? "", inicio: inicio, fin: fin,
                                           diasHabiles: CalendarioRules.defaultDiasHabiles)
        try await CalendarioRules.save(calendar, fields: fields, req: req)
        return try await calendar.toDTO().encodeResponse(status: .created, for: req)
    }

    @Sendable func replace(req: Request) async throws -> CalendarioDTO { try await update(req, partial: false) }
    @Sendable func patch(req: Request) async throws -> CalendarioDTO { try await update(req, partial: true) }

    private func update(_ req: Request, partial: Bool) async throws -> CalendarioDTO {
        try req.authorize(.editar, on: .calendarios)
        let calendar = try await Self.find(req)
        var input = try JSONInput.parse(req, partial: partial)
        let fields = try CalendarioRules.read(&input, existing: calendar)
        try await CalendarioRules.save(calendar, fields: fields, req: req)
        return try calendar.toDTO()
    }

    /// Deleting a calendar deletes its holidays and class slots with it.
    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        try req.authorize(.eliminar, on: .calendarios)
        let calendar = try await Self.find(req)
        try await req.deleteAudited(calendar, "calendarios", antes: try calendar.toDTO())
        return .noContent
    }

    /// `?desde&hasta` (both required, at most 366 days): weekdays in `dias_habiles`, inside the
    /// calendar, not holidays. Not paginated.
    @Sendable func businessDays(req: Request) async throws -> DiasHabilesDTO {
        try req.authorize(.leer, on: .calendarios)
        let calendar = try await Self.find(req)
        var filters = QueryFilters(req)
        let range = filters.dateRange(maxDays: Self.maxRangeDays)
        try filters.finish()
        guard let range else { throw APIError.parseError }
        let days = try await DiasHabiles.days(in: calendar, from: range.lowerBound, to: range.upperBound, on: req.db)
        return DiasHabilesDTO(desde: range.lowerBound.description, hasta: range.upperBound.description,
                              total: days.count, dias: days.map(\.description))
    }
}
