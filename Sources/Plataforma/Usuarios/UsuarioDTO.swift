import Foundation
import Vapor

/// The API representation of an account (`password` is write-only and never here).
public struct UsuarioDTO: Content, Equatable {
    public var id: Int
    public var email: String
    public var nombre: String
    public var apellidos: String
    public var rol: Rol
    public var activo: Bool
    @Nullable public var foto: String?
    public var fechaCreacion: Date
    @Nullable public var ultimoAcceso: Date?
}

extension Usuario {
    func toDTO() throws -> UsuarioDTO {
        UsuarioDTO(
            id: try requireID(), email: email, nombre: nombre, apellidos: apellidos, rol: rol, activo: activo,
            foto: nil, fechaCreacion: fechaCreacion, ultimoAcceso: ultimoAcceso)
    }
}
