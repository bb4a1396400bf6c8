import Fluent
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
    /// The absolute URL of the photo, or null.
    @Nullable public var foto: String?
    public var fechaCreacion: Date
    @Nullable public var ultimoAcceso: Date?
}

extension Usuario {
    func toDTO(fotoURL: String?) throws -> UsuarioDTO {
        UsuarioDTO(
            id: try requireID(), email: email, nombre: nombre, apellidos: apellidos, rol: rol, activo: activo,
            foto: fotoURL, fechaCreacion: fechaCreacion, ultimoAcceso: ultimoAcceso)
    }

    func toDTO(_ req: Request) async throws -> UsuarioDTO {
        guard let dto = try await Self.dtos([self], req: req).first else { throw APIError.notFound }
        return dto
    }

    /// A page of accounts, their photos looked up in one query.
    static func dtos(_ users: [Usuario], req: Request) async throws -> [UsuarioDTO] {
        let ids = users.compactMap(\.id)
        let withPhoto = ids.isEmpty ? [] : Set(try await UsuarioFoto.query(on: req.db).filter(\.$usuario.$id ~~ ids).all().map { $0.$usuario.id })
        let base = AbsoluteURL.base(req)
        return try users.map { user in
            let id = try user.requireID()
            return try user.toDTO(fotoURL: withPhoto.contains(id) ? "\(base)/api/usuarios/\(id)/foto/" : nil)
        }
    }
}
