import Fluent
import Vapor

/// `{"id", "mentor", "nombre", "entidad", "fecha_obtencion", "fecha_expiracion", "creado"}`.
struct CertificadoDTO: Content, Equatable {
    var id: Int
    var mentor: Int
    var nombre: String
    var entidad: String
    var fechaObtencion: String
    @Nullable var fechaExpiracion: String?
    var creado: Date
}

extension Certificado {
    func toDTO() throws -> CertificadoDTO {
        CertificadoDTO(id: try requireID(), mentor: $mentor.id, nombre: nombre, entidad: entidad,
                       fechaObtencion: fechaObtencion, fechaExpiracion: fechaExpiracion, creado: creado)
    }
}

/// `/api/mentores/{id}/certificados/`: anyone who may read mentors reads them; the mentor
/// (or an admin/coordinator) adds and removes them.
struct CertificadoController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let certificados = routes.grouped("mentores", ":id", "certificados")
        certificados.get(use: list)
        certificados.post(use: create)
        certificados.get(":cid", use: detail)
        certificados.delete(":cid", use: delete)
    }

    @Sendable func list(req: Request) async throws -> Page<CertificadoDTO> {
        try req.authorize(.leer, on: .mentores)
        let mentor = try await MentorController.find(req)
        let query = Certificado.query(on: req.db).filter(\.$mentor.$id == (try mentor.requireID()))
        OrderingFilter.apply(query, request: req, fields: ["fecha_obtencion": "fecha_obtencion", "nombre": "nombre"],
                             fallback: [("fecha_obtencion", .descending)])
        return try await Paginator.paginate(query, request: req) { try $0.toDTO() }
    }

    @Sendable func detail(req: Request) async throws -> CertificadoDTO {
        try req.authorize(.leer, on: .mentores)
        return try await find(req).toDTO()
    }

    @Sendable func create(req: Request) async throws -> Response {
        let mentor = try await MentorController.find(req)
        _ = try MentorController.requireEditable(mentor, req: req)
        var input = try JSONInput.parse(req)
        let nombre = input.string("nombre", maxLength: 200)
        let entidad = input.string("entidad", maxLength: 200)
        let obtenida = input.date("fecha_obtencion")
        let expira = input.date("fecha_expiracion", required: false, allowNull: true)
        let today = LocalDate.today(in: req.application.settings.timeZone)
        if let obtenida, obtenida > today {
            input.errors.add("fecha_obtencion", "La fecha de obtención no puede ser futura.")
        }
        if let obtenida, let expira, expira < obtenida {
            input.errors.add("fecha_expiracion", "La fecha de expiración no puede ser anterior a la de obtención.")
        }
        try input.finish()
        let certificado = Certificado()
        certificado.$mentor.id = try mentor.requireID()
        certificado.nombre = nombre ?? ""
        certificado.entidad = entidad ?? ""
        certificado.fechaObtencion = obtenida?.description ?? ""
        certificado.fechaExpiracion = expira?.description
        certificado.creado = Date()
        try await req.writeTransaction { db in
            try await certificado.create(on: db)
            try await req.audit(.crear, "certificados", id: certificado.id, despues: try certificado.toDTO(), on: db)
        }
        return try await certificado.toDTO().encodeResponse(status: .created, for: req)
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let certificado = try await find(req)
        let mentor = try await MentorController.find(req)
        _ = try MentorController.requireEditable(mentor, req: req)
        try await req.writeTransaction { db in
            try await certificado.delete(on: db)
            try await req.audit(.eliminar, "certificados", id: certificado.id, antes: try certificado.toDTO(), on: db)
        }
        return .noContent
    }

    private func find(_ req: Request) async throws -> Certificado {
        let mentor = try await MentorController.find(req)
        guard let id = req.parameters.get("cid", as: Int.self),
              let certificado = try await Certificado.query(on: req.db).filter(\.$id == id)
                .filter(\.$mentor.$id == mentor.requireID()).first() else { throw APIError.notFound }
        return certificado
    }
}
