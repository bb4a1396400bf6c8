import Vapor

/// `{"codigo", "nombre", "permisos"}` of one role.
struct RolDTO: Content {
    var codigo: String
    var nombre: String
    var permisos: [String]

    init(_ rol: Rol) {
        codigo = rol.rawValue
        nombre = rol.nombre
        permisos = Permisos.codes(for: rol)
    }
}

/// `/api/roles/`: the roles and what each may do, for any authenticated user.
struct RolController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let roles = routes.grouped("roles")
        roles.get(use: list)
        roles.get(":codigo", use: detail)
    }

    @Sendable func list(req: Request) async throws -> Page<RolDTO> {
        _ = try req.requireUser()
        return try Paginator.paginate(Rol.allCases.map(RolDTO.init), request: req)
    }

    @Sendable func detail(req: Request) async throws -> RolDTO {
        _ = try req.requireUser()
        guard let rol = req.parameters.get("codigo").flatMap(Rol.init(rawValue:)) else { throw APIError.notFound }
        return RolDTO(rol)
    }
}
