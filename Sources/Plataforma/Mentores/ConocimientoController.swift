import Fluent
import Vapor

/// `{"id", "nombre", "categoria"}`.
struct ConocimientoDTO: Content, Equatable {
    var id: Int
    var nombre: String
    var categoria: String
}

extension Conocimiento {
    func toDTO() throws -> ConocimientoDTO { ConocimientoDTO(id: try requireID(), nombre: nombre, categoria: categoria) }
}

/// `/api/conocimientos/`: the skills catalogue. Mentors read and add; admins and coordinators manage.
struct ConocimientoController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let conocimientos = routes.grouped("conocimientos")
        conocimientos.get(use: list)
        conocimientos.post(use: create)
        conocimientos.get(":id", use: detail)
        conocimientos.put(":id", use: replace)
        conocimientos.patch(":id", use: patch)
        conocimientos.delete(":id", use: delete)
    }

    static let duplicate = "Ya existe un conocimiento con este nombre."

    @Sendable func list(req: Request) async throws -> Page<ConocimientoDTO> {
        try req.authorize(.leer, on: .conocimientos)
        var filters = QueryFilters(req)
        let categoria = filters.text("categoria", maxLength: 100)
        try filters.finish()
        let query = Conocimiento.query(on: req.db)
        if let categoria { query.filter(\.$categoria == categoria) }
        SearchFilter.apply(query, request: req, columns: ["nombre", "categoria"])
        OrderingFilter.apply(query, request: req, fields: ["nombre": "nombre_clave", "categoria": "categoria"],
                             fallback: [("nombre_clave", .ascending)])
        return try await Paginator.paginate(query, request: req) { try $0.toDTO() }
    }

    @Sendable func detail(req: Request) async throws -> ConocimientoDTO {
        try req.authorize(.leer, on: .conocimientos)
        return try await find(req).toDTO()
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.crear, on: .conocimientos)
        var input = try JSONInput.parse(req)
        let (nombre, categoria) = try await read(&input, existing: nil, on: req.db)
        let skill = Conocimiento(nombre: nombre ?? "", categoria: categoria ?? "")
        try await Self.uniquely {
            try await req.writeTransaction { db in
                try await skill.create(on: db)
                try await req.audit(.crear, "conocimientos", id: skill.id, despues: try skill.toDTO(), on: db)
            }
        }
        return try await skill.toDTO().encodeResponse(status: .created, for: req)
    }

    @Sendable func replace(req: Request) async throws -> ConocimientoDTO { try await update(req, partial: false) }
    @Sendable func patch(req: Request) async throws -> ConocimientoDTO { try await update(req, partial: true) }

    private func update(_ req: Request, partial: Bool) async throws -> ConocimientoDTO {
        try req.authorize(.editar, on: .conocimientos)
        let skill = try await find(req)
        let before = try skill.toDTO()
        var input = try JSONInput.parse(req, partial: partial)
        let (nombre, categoria) = try await read(&input, existing: skill, on: req.db)
        if let nombre {
            skill.nombre = nombre
            skill.nombreClave = nombre.lowercased()
        }
        if let categoria { skill.categoria = categoria }
        try await Self.uniquely {
            try await req.writeTransaction { db in
                try await skill.save(on: db)
                try await req.audit(.actualizar, "conocimientos", id: skill.id, antes: before, despues: try skill.toDTO(), on: db)
            }
        }
        return try skill.toDTO()
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        try req.authorize(.eliminar, on: .conocimientos)
        let skill = try await find(req)
        try await req.deleteAudited(skill, "conocimientos", antes: try skill.toDTO())
        return .noContent
    }

    private func find(_ req: Request) async throws -> Conocimiento {
        try await req.findOr404(Conocimiento.self)
    }

    private func read(_ input: inout JSONInput, existing: Conocimiento?, on db: any Database) async throws -> (String?, String?) {
        let nombre = input.string("nombre", maxLength: 100)
        let categoria = input.string("categoria", required: false, allowBlank: true, maxLength: 100)
        if let nombre {
            let clash = Conocimiento.query(on: db).filter(\.$nombreClave == nombre.lowercased())
            if let id = existing?.id { clash.filter(\.$id != id) }
            if try await clash.count() > 0 { input.errors.add("nombre", Self.duplicate) }
        }
        try input.finish()
        return (nombre, categoria)
    }

    static func uniquely<T>(_ work: () async throws -> T) async throws -> T {
        try await mappingConstraintFailure(to: .field("nombre", duplicate), work)
    }
}
