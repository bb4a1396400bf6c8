import Vapor

/// API resources named as in the URLs (SPEC §4).
public enum Recurso: String, CaseIterable, Sendable {
    case usuarios, mentores, conocimientos, proyectos, grupos, calendarios, horarios
    case registroHoras = "registro-horas"
    case archivos, metricas, auditoria, integraciones
}

/// What a request does to a resource.
public enum Accion: String, CaseIterable, Sendable {
    case leer, crear, editar, eliminar, aprobar
}

/// How much of a resource a role may touch: all of it, only its own objects, or none.
public enum Alcance: Sendable, Equatable {
    case todo, propio, ninguno
}

/// The permission matrix of SPEC §4, the one place that decides who may do what.
/// Controllers ask it (through `Request.authorize`) and narrow queries when it says `propio`.
public enum Permisos {
    private static let matrix: [Recurso: [Rol: [Accion: Alcance]]] = [
        .usuarios: [.admin: all(.todo), .coordinador: [.leer: .todo]],
        .mentores: [.admin: all(.todo), .coordinador: all(.todo), .mentor: [.leer: .todo, .editar: .propio]],
        .conocimientos: [.admin: all(.todo), .coordinador: all(.todo), .mentor: [.leer: .todo, .crear: .todo]],
        .proyectos: [.admin: all(.todo), .coordinador: all(.todo), .mentor: [.leer: .propio]],
        .grupos: [.admin: all(.todo), .coordinador: all(.todo), .mentor: [.leer: .propio]],
        .calendarios: [.admin: all(.todo), .coordinador: all(.todo), .mentor: [.leer: .todo]],
        .horarios: [.admin: all(.todo), .coordinador: all(.todo), .mentor: [.leer: .todo]],
        .registroHoras: [
            .admin: all(.todo), .coordinador: all(.todo),
            .mentor: [.leer: .propio, .crear: .propio, .editar: .propio, .eliminar: .propio],
        ],
        .archivos: [.admin: all(.todo), .coordinador: all(.todo), .mentor: all(.propio, except: [.aprobar])],
        .metricas: [.admin: [.leer: .todo], .coordinador: [.leer: .todo]],
        .auditoria: [.admin: [.leer: .todo]],
        .integraciones: [.admin: all(.todo), .coordinador: all(.propio), .mentor: all(.propio)],
    ]

    private static func all(_ alcance: Alcance, except excluded: [Accion] = []) -> [Accion: Alcance] {
        Dictionary(uniqueKeysWithValues: Accion.allCases.filter { !excluded.contains($0) }.map { ($0, alcance) })
    }

    public static func alcance(_ rol: Rol, _ accion: Accion, on recurso: Recurso) -> Alcance {
        matrix[recurso]?[rol]?[accion] ?? .ninguno
    }

    /// `"recurso:accion"`, with `:propio` when limited to the role's own objects, for `/api/roles/`.
    public static func codes(for rol: Rol) -> [String] {
        Recurso.allCases.flatMap { recurso in
            Accion.allCases.compactMap { accion -> String? in
                switch alcance(rol, accion, on: recurso) {
                case .todo: "\(recurso.rawValue):\(accion.rawValue)"
                case .propio: "\(recurso.rawValue):\(accion.rawValue):propio"
                case .ninguno: nil
                }
            }
        }
    }
}

extension Request {
    /// 401 without credentials, 403 when the role may not do this at all; otherwise the scope.
    @discardableResult
    public func authorize(_ accion: Accion, on recurso: Recurso) throws -> Alcance {
        let user = try requireUser()
        let alcance = Permisos.alcance(user.rol, accion, on: recurso)
        if alcance == .ninguno { throw APIError.permissionDenied }
        return alcance
    }
}
