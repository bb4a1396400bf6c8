import Fluent
import FluentSQL
import Foundation
import Vapor

/// The three roles of SPEC §4.
public enum Rol: String, Codable, CaseIterable, Sendable {
    case admin, coordinador, mentor

    public var nombre: String {
        switch self {
        case .admin: "Administrador"
        case .coordinador: "Coordinador"
        case .mentor: "Mentor"
        }
    }
}

/// A platform account. Never returned directly: `UsuarioDTO` is.
public final class Usuario: Model, @unchecked Sendable {
    public static let schema = "usuarios"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Field(key: "email") public var email: String
    /// The lowercased email: unique, and what logins look accounts up by.
    @Field(key: "email_clave") public var emailClave: String
    @Field(key: "password") public var password: String
    @Field(key: "nombre") public var nombre: String
    @Field(key: "apellidos") public var apellidos: String
    @Field(key: "rol") public var rol: Rol
    @Field(key: "activo") public var activo: Bool
    /// Bumped by every password change; tokens carry it (`ver`) and older ones stop working.
    @Field(key: "token_version") public var tokenVersion: Int
    @Field(key: "fecha_creacion") public var fechaCreacion: Date
    @OptionalField(key: "ultimo_acceso") public var ultimoAcceso: Date?
    @OptionalField(key: "password_cambiado") public var passwordCambiado: Date?

    public init() {}

    /// Fluent finds a model's properties by reflection (a `Mirror` walk) several times per query,
    /// decode and save. Accounts are read on every authenticated request, so they are listed here;
    /// a test checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $email, $emailClave, $password, $nombre, $apellidos, $rol, $activo, $tokenVersion, $fechaCreacion,
         $ultimoAcceso, $passwordCambiado]
    }

    public init(email: String, passwordHash: String, nombre: String, apellidos: String, rol: Rol, activo: Bool = true) {
        self.email = email
        self.emailClave = EmailAddress.lookupKey(email)
        self.password = passwordHash
        self.nombre = nombre
        self.apellidos = apellidos
        self.rol = rol
        self.activo = activo
        self.tokenVersion = 0
        self.fechaCreacion = Date()
    }

    /// The account check of every authenticated request: one plain statement, decoded without
    /// Fluent's query builder (whose SQL rendering cost more than the query itself). With
    /// `snapshot`, on PostgreSQL, the same statement reads the database's snapshot
    /// (`pg_current_snapshot()`), which caches validate their entries with (`MetricasCache`) at no
    /// extra round trip.
    public static func find(authenticating id: Int, snapshot readSnapshot: Bool = false,
                            on database: any Database) async throws -> (usuario: Usuario, snapshot: String?)? {
        guard let sql = database as? any SQLDatabase else { return try await find(id, on: database).map { ($0, nil) } }
        let postgres = readSnapshot && sql.dialect.name == "postgresql"
        let snapshot: SQLQueryString = postgres ? ", CAST(pg_current_snapshot() AS TEXT) AS plataforma_snapshot" : ""
        guard let row = try await sql.raw("SELECT *\(snapshot) FROM usuarios WHERE id = \(bind: id)").first() else { return nil }
        return (try row.decode(fluentModel: Usuario.self), postgres ? try row.decode(column: "plataforma_snapshot", as: String.self) : nil)
    }

    /// Finds an account by email, case-insensitively.
    public static func find(email: String, on database: any Database) async throws -> Usuario? {
        try await Usuario.query(on: database).filter(\.$emailClave == EmailAddress.lookupKey(email)).first()
    }
}

extension Usuario: Authenticatable {}
