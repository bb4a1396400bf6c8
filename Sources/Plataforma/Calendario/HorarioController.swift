import Fluent
import FluentSQL
import SQLKit
import Vapor

/// `/api/horarios/`: weekly class slots of groups. Mentors read; admins and coordinators write.
struct HorarioController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let horarios = routes.grouped("horarios")
        horarios.get(use: list)
        horarios.post(use: create)
        horarios.get(":id", use: detail)
        horarios.put(":id", use: replace)
        horarios.patch(":id", use: patch)
        horarios.delete(":id", use: delete)
    }

    static let ordering: [String: FieldKey] = [
        "dia_semana": "dia_semana", "hora_inicio": "hora_inicio", "grupo": "grupo_id", "calendario": "calendario_id",
    ]

    /// Filters `grupo`, `mentor` (slots of the groups they teach) and `calendario`.
    @Sendable func list(req: Request) async throws -> Page<HorarioDTO> {
        try req.authorize(.leer, on: .horarios)
        var filters = QueryFilters(req)
        let grupo = filters.id("grupo")
        let mentor = filters.id("mentor")
        let calendario = filters.id("calendario")
        try filters.finish()
        let query = Horario.query(on: req.db)
        if let grupo { query.filter(\.$grupo.$id == grupo) }
        if let calendario { query.filter(\.$calendario.$id == calendario) }
        if let mentor {
            query.filter(SQLFilters.columnIn("grupo_id", of: Horario.schema) {
                $0.column("grupo_id").from(GrupoMentor.schema).where("mentor_id", .equal, mentor)
            })
        }
        OrderingFilter.apply(query, request: req, fields: Self.ordering,
                             fallback: [("dia_semana", .ascending), ("hora_inicio", .ascending)])
        return try await Paginator.paginate(query, request: req, map: { try $0.toDTO() })
    }

    @Sendable func detail(req: Request) async throws -> HorarioDTO {
        try req.authorize(.leer, on: .horarios)
        return try await find(req).toDTO()
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.crear, on: .horarios)
        var input = try JSONInput.parse(req)
        let fields = try await HorarioRules.read(&input, existing: nil, on: req.db)
        let slot = Horario()
        slot.aula = ""
        try await HorarioRules.save(slot, fields: fields, req: req)
        return try await slot.toDTO().encodeResponse(status: .created, for: req)
    }

    @Sendable func replace(req: Request) async throws -> HorarioDTO { try await update(req, partial: false) }
    @Sendable func patch(req: Request) async throws -> HorarioDTO { try await update(req, partial: true) }

    private func update(_ req: Request, partial: Bool) async throws -> HorarioDTO {
        try req.authorize(.editar, on: .horarios)
        let slot = try await find(req)
        var input = try JSONInput.parse(req, partial: partial)
        let fields = try await HorarioRules.read(&input, existing: slot, on: req.db)
        try await HorarioRules.save(slot, fields: fields, req: req)
        return try slot.toDTO()
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        try req.authorize(.eliminar, on: .horarios)
        let slot = try await find(req)
        try await req.deleteAudited(slot, "horarios", antes: try slot.toDTO())
        return .noContent
    }

    private func find(_ req: Request) async throws -> Horario {
        try await req.findOr404(Horario.self)
    }
}
