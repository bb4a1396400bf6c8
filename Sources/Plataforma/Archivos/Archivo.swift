import Fluent
import Foundation

/// Stored bytes, named by their SHA-256: one row (and one file under `MEDIA_ROOT`) per distinct
/// content, whatever number of files, photos and certificates point at it.
public final class Blob: Model, @unchecked Sendable {
    public static let schema = "blobs"

    @ID(custom: "sha256", generatedBy: .user) public var id: String?
    @Field(key: "tamano") public var tamano: Int
    @Field(key: "creado") public var creado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $tamano, $creado]
    }

    public init(sha256: String, tamano: Int) {
        self.id = sha256
        self.tamano = tamano
        self.creado = Date()
    }
}

/// A file of `/api/archivos/`: the client's (sanitised) name and metadata over a shared blob.
public final class Archivo: Model, @unchecked Sendable {
    public static let schema = "archivos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "sha256") public var blob: Blob
    @Field(key: "nombre") public var nombre: String
    @Field(key: "tipo_mime") public var tipoMime: String
    /// The blob's size, kept here too so lists and quotas need no join.
    @Field(key: "tamano") public var tamano: Int
    @Parent(key: "propietario_id") public var propietario: Usuario
    @OptionalParent(key: "proyecto_id") public var proyecto: Proyecto?
    @Field(key: "descripcion") public var descripcion: String
    @Field(key: "creado") public var creado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $blob, $nombre, $tipoMime, $tamano, $propietario, $proyecto, $descripcion, $creado]
    }
}

/// A user's photo (`/api/usuarios/{id}/foto/`): at most one per account.
public final class UsuarioFoto: Model, @unchecked Sendable {
    public static let schema = "usuario_fotos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "usuario_id") public var usuario: Usuario
    @Parent(key: "sha256") public var blob: Blob
    @Field(key: "tipo_mime") public var tipoMime: String
    @Field(key: "tamano") public var tamano: Int
    @Field(key: "actualizado") public var actualizado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $usuario, $blob, $tipoMime, $tamano, $actualizado]
    }
}

/// The file of a certificate (`/api/mentores/{id}/certificados/{cid}/archivo/`): at most one each.
public final class CertificadoArchivo: Model, @unchecked Sendable {
    public static let schema = "certificado_archivos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "certificado_id") public var certificado: Certificado
    @Parent(key: "sha256") public var blob: Blob
    @Field(key: "nombre") public var nombre: String
    @Field(key: "tipo_mime") public var tipoMime: String
    @Field(key: "tamano") public var tamano: Int
    /// Whose quota the file counts against.
    @OptionalParent(key: "subido_por") public var subidoPor: Usuario?
    @Field(key: "creado") public var creado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $certificado, $blob, $nombre, $tipoMime, $tamano, $subidoPor, $creado]
    }
}

extension CertificadoArchivo {
    /// The blobs of a mentor's certificate files (to release once a cascade has removed them).
    static func blobs(ofMentor mentorID: Int, on db: any Database) async throws -> [String] {
        try await CertificadoArchivo.query(on: db)
            .join(Certificado.self, on: \CertificadoArchivo.$certificado.$id == \Certificado.$id)
            .filter(Certificado.self, \.$mentor.$id == mentorID)
            .all().map { $0.$blob.id }
    }
}
