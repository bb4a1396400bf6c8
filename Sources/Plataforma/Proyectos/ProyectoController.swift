import Fluent
import FluentSQL
import SQLKit
import Vapor

/// `/api/proyectos/`: projects and their mentors. Mentors see only the projects they are in.
struct ProyectoController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let proyectos = routes.grouped("proyectos")
        proyectos.get(use: list)
        proyectos.post(use: create)
        proyectos.get(":id", use: detail)
        proyectos.put(":id", use: replace)
        proyectos.patch(":id", use: patch)
        proyectos.delete(":id", use: delete)
        proyectos.post(":id", "mentores", use: assign)
        proyectos.delete(":id", "mentores", ":mid", use: unassign)
    }

    static let ordering: [String: FieldKey] = ["nombre": "nombre", "fecha_inicio": "fecha_inicio", "creado": "creado"]

    /// Projects the caller may read: all, or (mentors) those they are assigned to.
    static func visible(_ req: Request) async throws -> QueryBuilder<Proyecto> {
        let query = Proyecto.query(on: req.db)
        if try req.authorize(.leer, on: .proyectos) == .propio {
            let mentorID = try await req.requireUser().mentorProfile(on: req.db)?.id ?? 0
            query.filter(SQLFilters.columnIn("id", of: Proyecto.schema) {
                $0.column("proyecto_id").from(ProyectoMentor.schema).where("mentor_id", .equal, mentorID)
            })
        }
        return query
    }

    static func find(_ req: Request, parameter: String = "id") async throws -> Proyecto {
        guard let id = req.parameters.get(parameter, as: Int.self),
              let project = try await visible(req).filter(\.$id == id).first() else { throw APIError.notFound }
        return project
    }

    @Sendable func list(req: Request) async throws -> Page<ProyectoDTO> {
        let query = try await Self.visible(req)
        var filters = QueryFilters(req)
        let estado = filters.choice("estado", EstadoProyecto.self)
        let mentor = filters.id("mentor")
        try filters.finish()
        if let estado { query.filter(\.$estado == estado) }
        if let mentor {
            query.filter(SQLFilters.columnIn("id", of: Proyecto.schema) {
                $0.column("proyecto_id").from(ProyectoMentor.schema).where("mentor_id", .equal, mentor)
            })
        }
        SearchFilter.apply(query, request: req, columns: ["nombre", "descripcion"])
        OrderingFilter.apply(query, request: req, fields: Self.ordering, fallback: [("creado", .descending)])
        return try await Paginator.paginate(query, request: req, mapPage: { try await ProyectoAssembler.dtos($0, on: req.db) })
    }

    @Sendable func detail(req: Request) async throws -> ProyectoDTO {
        try await Self.dto(Self.find(req), req: req)
    }

    static func dto(_ project: Proyecto, req: Request) async throws -> ProyectoDTO {
        guard let dto = try await ProyectoAssembler.dtos([project], on: req.db).first else { throw APIError.notFound }
        return dto
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.crear, on: .proyectos)
        var input = try JSONInput.parse(req)
        let fields = try await ProyectoRules.read(&input, existing: nil, on: req.db)
        let project = Proyecto(nombre: fields.nombre ?? "", estado: fields.estado ?? .planificado,
                               fechaInicio: fields.fechaInicio ?? LocalDate.today(in: req.application.settings.timeZone))
        try await ProyectoRules.save(project, fields: fields, req: req, before: nil)
        return try await Self.dto(project, req: req).encodeResponse(status: .created, for: req)
    }

    @Sendable func replace(req: Request) async throws -> ProyectoDTO { try await update(req, partial: false) }
    @Sendable func patch(req: Request) async throws -> ProyectoDTO { try await update(req, partial: true) }

    private func update(_ req: Request, partial: Bool) async throws -> ProyectoDTO {
        let project = try await Self.find(req)
        try req.authorize(.editar, on: .proyectos)
        var input = try JSONInput.parse(req, partial: partial)
        let fields = try await ProyectoRules.read(&input, existing: project, on: req.db)
        try await ProyectoRules.save(project, fields: fields, req: req, before: try Auditor.snapshot(project))
        return try await Self.dto(project, req: req)
    }

    /// Projects with hour records keep them: 409 (cancel or finish the project instead).
    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let project = try await Self.find(req)
        try req.authorize(.eliminar, on: .proyectos)
        let message = "El proyecto tiene horas registradas; cámbielo a finalizado o cancelado en lugar de eliminarlo."
        if try await RegistroHoras.query(on: req.db).filter(\.$proyecto.$id == project.requireID()).count() > 0 {
            throw APIError.conflict(message)
        }
        let before = try Auditor.snapshot(project)
        try await mappingConstraintFailure(to: .conflict(message)) {
            try await req.writeTransaction { db in
                try await project.delete(on: db)
                try await req.audit(.eliminar, "proyectos", id: project.id, antes: before, on: db)
            }
        }
        return .noContent
    }

    /// `POST /api/proyectos/{id}/mentores/ {"mentor": id}`: 201 when newly assigned, 200 when already.
    @Sendable func assign(req: Request) async throws -> Response {
        let project = try await Self.find(req)
        try req.authorize(.editar, on: .proyectos)
        var input = try JSONInput.parse(req)
        let mentorID = input.id("mentor")
        if let mentorID, try await Mentor.find(mentorID, on: req.db) == nil {
            input.errors.add("mentor", "Clave primaria \"\(mentorID)\" inválida - objeto no existe.")
        }
        try input.finish()
        guard let mentorID else { throw APIError.parseError }
        let projectID = try project.requireID()
        let exists = try await ProyectoMentor.query(on: req.db).filter(\.$proyecto.$id == projectID)
            .filter(\.$mentor.$id == mentorID).count() > 0
        if !exists {
            do {
                try await req.writeTransaction { db in
                    try await ProyectoMentor(proyectoID: projectID, mentorID: mentorID).create(on: db)
                    try await req.audit(.actualizar, "proyectos", id: projectID, despues: ["mentor_asignado": .int(Int64(mentorID))] as JSONValue, on: db)
                }
            } catch let error as any DatabaseError where error.isConstraintFailure {}  // a concurrent assign won
        }
        return try await Self.dto(project, req: req).encodeResponse(status: exists ? .ok : .created, for: req)
    }

    /// Unassigning also takes the mentor out of the project's groups; their hour records stay.
    @Sendable func unassign(req: Request) async throws -> HTTPStatus {
        let project = try await Self.find(req)
        try req.authorize(.editar, on: .proyectos)
        guard let mentorID = req.parameters.get("mid", as: Int.self) else { throw APIError.notFound }
        let projectID = try project.requireID()
        try await req.writeTransaction { db in
            guard let link = try await ProyectoMentor.query(on: db).filter(\.$proyecto.$id == projectID)
                .filter(\.$mentor.$id == mentorID).first() else { throw APIError.notFound }
            try await link.delete(on: db)
            try await ProyectoRules.removeFromGroups(projectID: projectID, mentorIDs: [mentorID], on: db)
            try await req.audit(.actualizar, "proyectos", id: projectID, antes: ["mentor_asignado": .int(Int64(mentorID))] as JSONValue, on: db)
        }
        return .noContent
    }
}

/// A project write, validated all at once.
enum ProyectoRules {
    struct Fields {
        var nombre: String?
        var descripcion: String?
        var estado: EstadoProyecto?
        var fechaInicio: LocalDate?
        var fechaFin: LocalDate??
        var horasEstimadas: Int?
        var coordinador: Int??
        var mentores: [Int]?
    }

    static func read(_ input: inout JSONInput, existing: Proyecto?, on db: any Database) async throws -> Fields {
        var fields = Fields()
        fields.nombre = input.string("nombre", maxLength: 200)
        fields.descripcion = input.string("descripcion", required: false, allowBlank: true, maxLength: 10_000, trim: false)
        fields.estado = input.choice("estado", EstadoProyecto.self, required: false)
        fields.fechaInicio = input.date("fecha_inicio")
        if input.has("fecha_fin") { fields.fechaFin = .some(input.date("fecha_fin", required: false, allowNull: true)) }
        fields.horasEstimadas = input.hundredths("horas_estimadas", required: false, range: 0...100_000_000)
        if input.has("coordinador") { fields.coordinador = .some(input.id("coordinador", required: false, allowNull: true)) }
        fields.mentores = input.idList("mentores", required: false)

        let start = fields.fechaInicio ?? existing.flatMap { LocalDate($0.fechaInicio) }
        let end: LocalDate? = fields.fechaFin ?? existing?.fechaFin.flatMap(LocalDate.init)
        if let start, let end, end < start, !input.errors.has("fecha_fin") {
            input.errors.add("fecha_fin", "La fecha de fin no puede ser anterior a la fecha de inicio.")
        }
        if case .some(.some(let userID)) = fields.coordinador {
            if let user = try await Usuario.find(userID, on: db) {
                if user.rol == .mentor { input.errors.add("coordinador", "El coordinador debe tener el rol coordinador o admin.") }
            } else {
                input.errors.add("coordinador", "Clave primaria \"\(userID)\" inválida - objeto no existe.")
            }
        }
        if let ids = fields.mentores, !ids.isEmpty {
            let found = Set(try await Mentor.query(on: db).filter(\.$id ~~ ids).all().compactMap(\.id))
            if let missing = ids.first(where: { !found.contains($0) }) {
                input.errors.add("mentores", "Clave primaria \"\(missing)\" inválida - objeto no existe.")
            }
        }
        try input.finish()
        return fields
    }

    /// Mentors leaving a project also leave its groups (their hour records stay).
    static func removeFromGroups(projectID: Int, mentorIDs: [Int], on db: any Database) async throws {
        let groupIDs = try await Grupo.query(on: db).filter(\.$proyecto.$id == projectID).all().compactMap(\.id)
        guard !groupIDs.isEmpty, !mentorIDs.isEmpty else { return }
        try await GrupoMentor.query(on: db).filter(\.$grupo.$id ~~ groupIDs).filter(\.$mentor.$id ~~ mentorIDs).delete()
    }

    /// Saves the project and, when `mentores` was sent, replaces its assignments (mentors leaving
    /// the project also leave its groups).
    static func save(_ project: Proyecto, fields: Fields, req: Request, before: JSONValue?) async throws {
        if let nombre = fields.nombre { project.nombre = nombre }
        if let descripcion = fields.descripcion { project.descripcion = descripcion }
        if let estado = fields.estado { project.estado = estado }
        if let fechaInicio = fields.fechaInicio { project.fechaInicio = fechaInicio.description }
        if let fechaFin = fields.fechaFin { project.fechaFin = fechaFin?.description }
        if let horas = fields.horasEstimadas { project.horasEstimadas = horas }
        if let coordinador = fields.coordinador { project.$coordinador.id = coordinador }
        project.actualizado = Date()
        try await req.writeTransaction { db in
            try await project.save(on: db)
            let id = try project.requireID()
            var after = try Auditor.snapshot(project)
            if case .object(var values) = after, let mentores = fields.mentores {
                values["mentores"] = .array(mentores.map { .int(Int64($0)) })
                after = .object(values)
            }
            try await req.audit(before == nil ? .crear : .actualizar, "proyectos", id: id, antes: before, despues: after, on: db)
            guard let mentores = fields.mentores else { return }
            let current = try await ProyectoMentor.query(on: db).filter(\.$proyecto.$id == id).all()
            let leaving = current.filter { !mentores.contains($0.$mentor.id) }.map { $0.$mentor.id }
            if !leaving.isEmpty {
                try await ProyectoMentor.query(on: db).filter(\.$proyecto.$id == id).filter(\.$mentor.$id ~~ leaving).delete()
                try await removeFromGroups(projectID: id, mentorIDs: leaving, on: db)
            }
            let existing = Set(current.map { $0.$mentor.id })
            for mentorID in mentores where !existing.contains(mentorID) {
                try await ProyectoMentor(proyectoID: id, mentorID: mentorID).create(on: db)
            }
        }
    }
}
