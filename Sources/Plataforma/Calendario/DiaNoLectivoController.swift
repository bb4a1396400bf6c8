import Fluent
import Vapor

/// `/api/calendarios/{id}/dias-no-lectivos/`: a calendar's holidays, each date once and inside it.
struct DiaNoLectivoController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let dias = routes.grouped("calendarios", ":id", "dias-no-lectivos")
        dias.get(use: list)
        dias.post(use: create)
        dias.get(":did", use: detail)
        dias.delete(":did", use: delete)
    }

    static let duplicate = "Ya existe un día no lectivo con esta fecha en el calendario."

    @Sendable func list(req: Request) async throws -> Page<DiaNoLectivoDTO> {
        try req.authorize(.leer, on: .calendarios)
        let calendar = try await CalendarioController.find(req)
        let query = DiaNoLectivo.query(on: req.db).filter(\.$calendario.$id == (try calendar.requireID()))
            .sort(\.$fecha).sort(\.$id)
        return try await Paginator.paginate(query, request: req, map: { try $0.toDTO() })
    }

    @Sendable func detail(req: Request) async throws -> DiaNoLectivoDTO {
        try req.authorize(.leer, on: .calendarios)
        return try await find(req).toDTO()
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.editar, on: .calendarios)
        let calendar = try await CalendarioController.find(req)
        let calendarID = try calendar.requireID()
        var input = try JSONInput.parse(req)
        let fecha = input.date("fecha")
        let descripcion = input.string("descripcion", required: false, allowBlank: true, maxLength: 200) ?? ""
        if let fecha {
            if let start = calendar.inicio, let end = calendar.fin, !(start...end).contains(fecha) {
                input.errors.add("fecha", "La fecha está fuera del calendario (\(calendar.fechaInicio) a \(calendar.fechaFin)).")
            } else if try await DiaNoLectivo.query(on: req.db).filter(\.$calendario.$id == calendarID)
                .filter(\.$fecha == fecha.description).count() > 0 {
                input.errors.add("fecha", Self.duplicate)
            }
        }
        try input.finish()
        guard let fecha else { throw APIError.parseError }
        let holiday = DiaNoLectivo(calendarioID: calendarID, fecha: fecha, descripcion: descripcion)
        // A concurrent POST of the same date may win the race: the unique index answers.
        try await mappingConstraintFailure(to: .field("fecha", Self.duplicate)) {
            try await req.writeTransaction { db in
                try await holiday.create(on: db)
                try await req.audit(.crear, "dias-no-lectivos", id: holiday.id, despues: try holiday.toDTO(), on: db)
            }
        }
        return try await holiday.toDTO().encodeResponse(status: .created, for: req)
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        try req.authorize(.eliminar, on: .calendarios)
        let holiday = try await find(req)
        try await req.deleteAudited(holiday, "dias-no-lectivos", antes: try holiday.toDTO())
        return .noContent
    }

    private func find(_ req: Request) async throws -> DiaNoLectivo {
        let calendar = try await CalendarioController.find(req)
        guard let id = req.parameters.get("did", as: Int.self),
              let holiday = try await DiaNoLectivo.query(on: req.db).filter(\.$id == id)
                .filter(\.$calendario.$id == (try calendar.requireID())).first() else { throw APIError.notFound }
        return holiday
    }
}
