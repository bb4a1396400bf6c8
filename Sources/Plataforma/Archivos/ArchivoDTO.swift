import Foundation
import Vapor

/// `{id, nombre, tipo_mime, tamano, sha256, propietario, proyecto, descripcion, creado, url}`;
/// `url` is the absolute download URL.
public struct ArchivoDTO: Content, Equatable {
    public var id: Int
    public var nombre: String
    public var tipoMime: String
    public var tamano: Int
    public var sha256: String
    public var propietario: Int
    @Nullable public var proyecto: Int?
    public var descripcion: String
    public var creado: Date
    public var url: String
}

extension Archivo {
    func toDTO(_ req: Request) throws -> ArchivoDTO {
        let id = try requireID()
        return ArchivoDTO(id: id, nombre: nombre, tipoMime: tipoMime, tamano: tamano, sha256: $blob.id,
                          propietario: $propietario.id, proyecto: $proyecto.id, descripcion: descripcion, creado: creado,
                          url: AbsoluteURL.base(req) + "/api/archivos/\(id)/descarga/")
    }
}
