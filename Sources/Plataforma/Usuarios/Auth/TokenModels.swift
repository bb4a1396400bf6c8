import Fluent
import Foundation

/// One login: every refresh token rotated from it belongs to the same family, so reuse of a
/// rotated token can revoke them all at once.
final class TokenFamilia: Model, @unchecked Sendable {
    static let schema = "token_familias"

    @ID(custom: .id, generatedBy: .database) var id: Int?
    @Parent(key: "usuario_id") var usuario: Usuario
    @Field(key: "creado") var creado: Date
    @OptionalField(key: "revocado") var revocado: Date?
    @OptionalField(key: "motivo") var motivo: String?

    init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    var properties: [any AnyProperty] {
        [$id, $usuario, $creado, $revocado, $motivo]
    }

    init(usuarioID: Int) {
        self.$usuario.id = usuarioID
        self.creado = Date()
    }
}

/// SimpleJWT's OutstandingToken: every refresh token issued, by `jti`.
final class TokenEmitido: Model, @unchecked Sendable {
    static let schema = "tokens_emitidos"

    @ID(custom: .id, generatedBy: .database) var id: Int?
    @Field(key: "jti") var jti: String
    @Parent(key: "usuario_id") var usuario: Usuario
    @Parent(key: "familia_id") var familia: TokenFamilia
    @Field(key: "creado") var creado: Date
    @Field(key: "expira") var expira: Date

    init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    var properties: [any AnyProperty] {
        [$id, $jti, $usuario, $familia, $creado, $expira]
    }

    init(jti: String, usuarioID: Int, familiaID: Int, creado: Date, expira: Date) {
        self.jti = jti
        self.$usuario.id = usuarioID
        self.$familia.id = familiaID
        self.creado = creado
        self.expira = expira
    }
}

/// Why a refresh token stopped working.
enum MotivoRevocacion: String, Codable {
    case rotado, logout, revocado
}

/// SimpleJWT's BlacklistedToken. `jti` is unique: the insert that lands first wins a rotation.
final class TokenRevocado: Model, @unchecked Sendable {
    static let schema = "tokens_revocados"

    @ID(custom: .id, generatedBy: .database) var id: Int?
    @Field(key: "jti") var jti: String
    @Field(key: "motivo") var motivo: MotivoRevocacion
    @Field(key: "fecha") var fecha: Date
    @Field(key: "expira") var expira: Date

    init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    var properties: [any AnyProperty] {
        [$id, $jti, $motivo, $fecha, $expira]
    }
}
