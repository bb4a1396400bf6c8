import Fluent
import FluentSQL
import Foundation
import JWT
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// An access/refresh pair as `/api/token/` returns it.
struct TokenPair: Content {
    var access: String
    var refresh: String?
}

/// Issues, checks, rotates and revokes tokens with SimpleJWT's semantics (SPEC §3).
/// Rotation is race-free because the old token's blacklist row is inserted first, under a
/// unique `jti`: of two concurrent refreshes only one insert lands, and only it gets a new pair.
final class TokenService: Sendable {
    let keys: JWTKeyCollection
    let settings: Settings
    /// The revocation fast path shared by replicas (nil without Redis: the database alone decides).
    let redis: RedisServices?

    static let invalidDetail = "El token es inválido o ha expirado"
    static let blacklistedDetail = "El token está en lista negra"

    init(settings: Settings, redis: RedisServices? = nil) async {
        self.settings = settings
        self.redis = redis
        self.keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: settings.secretKey), digestAlgorithm: .sha256)
    }

    // MARK: Issuing

    /// Starts a login family and returns its first pair.
    func issuePair(for user: Usuario, on database: any Database) async throws -> TokenPair {
        let family = TokenFamilia(usuarioID: try user.requireID())
        try await family.create(on: database)
        let refresh = try await issueRefresh(for: user, familyID: try family.requireID(), on: database)
        return TokenPair(access: try await access(for: user), refresh: refresh)
    }

    func access(for user: Usuario) async throws -> String {
        try await sign(type: .access, user: user, lifetime: settings.accessTokenLifetime)
    }

    private func issueRefresh(for user: Usuario, familyID: Int, on database: any Database) async throws -> String {
        let now = Date()
        let claims = claims(type: .refresh, user: user, lifetime: settings.refreshTokenLifetime, now: now)
        try await TokenEmitido(
            jti: claims.jti, usuarioID: try user.requireID(), familiaID: familyID,
            creado: now, expira: Date(timeIntervalSince1970: TimeInterval(claims.exp))
        ).create(on: database)
        return try await keys.sign(claims)
    }

    private func sign(type: TokenClaims.TokenType, user: Usuario, lifetime: TimeInterval) async throws -> String {
        try await keys.sign(claims(type: type, user: user, lifetime: lifetime, now: Date()))
    }

    private func claims(type: TokenClaims.TokenType, user: Usuario, lifetime: TimeInterval, now: Date) -> TokenClaims {
        let issued = Int(now.timeIntervalSince1970)
        return TokenClaims(
            tokenType: type, exp: issued + Int(lifetime), iat: issued, jti: TokenClaims.newJTI(),
            userID: String(user.id ?? 0), rol: user.rol.rawValue, ver: user.tokenVersion)
    }

    // MARK: Checking

    /// Signature (HS256 only), expiry and shape; any failure is 401 `token_not_valid`.
    func decode(_ token: String, expecting type: TokenClaims.TokenType? = nil) async throws -> TokenClaims {
        guard token.utf8.count <= 4_096, Self.headerAlgorithm(of: token) == "HS256" else {
            throw Self.notValid(type)
        }
        let claims: TokenClaims
        do {
            claims = try await keys.verify(token, as: TokenClaims.self)
        } catch {
            throw Self.notValid(type)
        }
        if let type, claims.tokenType != type {
            throw APIError.tokenNotValid("El token tiene un tipo incorrecto")
        }
        guard claims.userIDValue != nil else { throw Self.notValid(type) }
        return claims
    }

    /// The account behind valid claims: present, active and on the same credential version.
    /// `snapshot`: also read the database snapshot (see `Usuario.find(authenticating:)`).
    func user(for claims: TokenClaims, snapshot readSnapshot: Bool = false,
              on database: any Database) async throws -> (usuario: Usuario, snapshot: String?) {
        guard let id = claims.userIDValue,
              let (user, snapshot) = try await Usuario.find(authenticating: id, snapshot: readSnapshot, on: database) else {
            throw APIError.unauthorized("Usuario no encontrado", code: "user_not_found")
        }
        guard user.activo else { throw APIError.unauthorized("El usuario está inactivo", code: "user_inactive") }
        guard (claims.ver ?? 0) == user.tokenVersion else { throw Self.notValid(claims.tokenType) }
        return (user, snapshot)
    }

    static func notValid(_ type: TokenClaims.TokenType?) -> APIError {
        var error = APIError.tokenNotValid(type == .refresh ? invalidDetail : "El token dado no es valido para ningun tipo de token")
        let tokenClass = type == .refresh ? "RefreshToken" : "AccessToken"
        error.body = .custom([
            "detail": .string(type == .refresh ? invalidDetail : "El token dado no es valido para ningun tipo de token"),
            "code": .string("token_not_valid"),
            "messages": .array([.object([
                "token_class": .string(tokenClass),
                "token_type": .string(type?.rawValue ?? "access"),
                "message": .string(invalidDetail),
            ])]),
        ])
        return error
    }

    static func headerAlgorithm(of token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        // Every token we sign has the same header: decode each distinct header once.
        let segment = String(parts[0])
        if let known = knownHeaders.withLockedValue({ $0[segment] }) { return known }
        guard let data = Base64URL.decode(segment),
              let header = try? JSONDecoder().decode([String: JSONValue].self, from: data),
              case .string(let algorithm)? = header["alg"] else { return nil }
        knownHeaders.withLockedValue { headers in
            if headers.count < 16 { headers[segment] = algorithm }  // clients choose headers: keep a few
        }
        return algorithm
    }

    private static let knownHeaders = NIOLockedValueBox([String: String]())

    // MARK: Refresh, blacklist, verify

    enum RefreshOutcome {
        case rotated(TokenPair, user: Usuario)
        case refused
        case reuseDetected(userID: Int)
    }

    /// SimpleJWT's refresh with rotation and blacklisting, one winner under concurrency, and
    /// family revocation when a rotated token comes back after the grace period.
    func refresh(_ token: String, actor: AuditActor, on database: any Database) async throws -> RefreshOutcome {
        let claims = try await decode(token, expecting: .refresh)
        // A logged-out token's family is revoked: nothing left to decide. A rotated one goes on to
        // the database, which tells a late duplicate from a reuse that must revoke the family.
        if await redis?.knownRevocation(claims.jti) == MotivoRevocacion.logout.rawValue { return .refused }
        guard let outstanding = try await outstanding(claims.jti, on: database),
              let family = try await TokenFamilia.find(outstanding.$familia.id, on: database) else {
            return .refused
        }
        if family.revocado != nil { return .refused }
        let user = try await user(for: claims, on: database).usuario

        guard settings.rotateRefreshTokens else {
            if try await revocation(of: claims.jti, on: database) != nil { return .refused }
            return .rotated(TokenPair(access: try await access(for: user), refresh: nil), user: user)
        }
        guard settings.blacklistAfterRotation else {
            if try await revocation(of: claims.jti, on: database) != nil { return .refused }
            let refresh = try await issueRefresh(for: user, familyID: try family.requireID(), on: database)
            return .rotated(TokenPair(access: try await access(for: user), refresh: refresh), user: user)
        }

        let expires = Date(timeIntervalSince1970: TimeInterval(claims.exp))
        let rotated: String? = try await database.transaction { transaction in
            // The insert comes first so the race is settled by the unique index, not by a read.
            guard try await self.insertRevocation(claims.jti, motivo: .rotado, expires: expires, on: transaction) else {
                return nil
            }
            return try await self.issueRefresh(for: user, familyID: try family.requireID(), on: transaction)
        }
        if let rotated {
            await redis?.markRevoked(claims.jti, reason: MotivoRevocacion.rotado.rawValue, until: expires)
            return .rotated(TokenPair(access: try await access(for: user), refresh: rotated), user: user)
        }
        guard let previous = try await revocation(of: claims.jti, on: database) else { return .refused }
        let age = Date().timeIntervalSince(previous.fecha)
        if previous.motivo == .rotado && age <= TimeInterval(settings.refreshReuseGraceSeconds) {
            return .refused
        }
        let userID = try user.requireID()
        try await database.transaction { transaction in
            try await self.revokeFamily(try family.requireID(), reason: "reuso", on: transaction)
            try await Auditor.record(.revocarToken, "tokens", id: family.id, by: AuditActor(usuarioID: userID, ip: actor.ip),
                                     despues: ["motivo": "reuso", "familia": .int(Int64(family.id ?? 0))], on: transaction)
        }
        return .reuseDetected(userID: userID)
    }

    /// Logout: blacklists the token and ends its login family. Already blacklisted is 401.
    func blacklist(_ token: String, actor: AuditActor, on database: any Database) async throws -> Int {
        let claims = try await decode(token, expecting: .refresh)
        guard let outstanding = try await outstanding(claims.jti, on: database) else {
            throw Self.notValid(.refresh)
        }
        let expires = Date(timeIntervalSince1970: TimeInterval(claims.exp))
        let userID = outstanding.$usuario.id
        try await database.transaction { transaction in
            guard try await self.insertRevocation(claims.jti, motivo: .logout, expires: expires, on: transaction) else {
                throw APIError.tokenNotValid(Self.blacklistedDetail)
            }
            try await self.revokeFamily(outstanding.$familia.id, reason: "logout", on: transaction)
            try await Auditor.record(.logout, "tokens", id: outstanding.$familia.id, by: AuditActor(usuarioID: userID, ip: actor.ip),
                                     on: transaction)
        }
        await redis?.markRevoked(claims.jti, reason: MotivoRevocacion.logout.rawValue, until: expires)
        return userID
    }

    /// `/api/token/verify/`: valid signature and expiry, and not blacklisted or revoked.
    func verify(_ token: String, on database: any Database) async throws {
        let claims = try await decode(token)
        if await redis?.knownRevocation(claims.jti) != nil {
            throw APIError.tokenNotValid(Self.blacklistedDetail)
        }
        if try await revocation(of: claims.jti, on: database) != nil {
            throw APIError.tokenNotValid(Self.blacklistedDetail)
        }
        if claims.tokenType == .refresh {
            guard let outstanding = try await outstanding(claims.jti, on: database),
                  let family = try await TokenFamilia.find(outstanding.$familia.id, on: database),
                  family.revocado == nil else {
                throw APIError.tokenNotValid(Self.blacklistedDetail)
            }
        }
        _ = try await user(for: claims, on: database)
    }

    /// Ends every login of a user (password change, deactivation by an admin).
    func revokeAll(userID: Int, reason: String, on database: any Database) async throws {
        try await revoke(TokenFamilia.query(on: database).filter(\.$usuario.$id == userID), reason: reason)
    }

    private func revokeFamily(_ id: Int, reason: String, on database: any Database) async throws {
        try await revoke(TokenFamilia.query(on: database).filter(\.$id == id), reason: reason)
    }

    private func revoke(_ families: QueryBuilder<TokenFamilia>, reason: String) async throws {
        try await families.filter(\.$revocado == nil).set(\.$revocado, to: Date()).set(\.$motivo, to: reason).update()
    }

    private func outstanding(_ jti: String, on database: any Database) async throws -> TokenEmitido? {
        try await TokenEmitido.query(on: database).filter(\.$jti == jti).first()
    }

    private func revocation(of jti: String, on database: any Database) async throws -> TokenRevocado? {
        try await TokenRevocado.query(on: database).filter(\.$jti == jti).first()
    }

    /// `INSERT … ON CONFLICT (jti) DO NOTHING RETURNING id`: true when this call blacklisted it.
    private func insertRevocation(_ jti: String, motivo: MotivoRevocacion, expires: Date,
                                  on database: any Database) async throws -> Bool {
        guard let sql = database as? any SQLDatabase else { throw APIError.serverError }
        let rows = try await sql.insert(into: TokenRevocado.schema)
            .columns("jti", "motivo", "fecha", "expira")
            .values(SQLBind(jti), SQLBind(motivo.rawValue), SQLBind(Date()), SQLBind(expires))
            .ignoringConflicts(with: ["jti"])
            .returning("id")
            .all()
        return !rows.isEmpty
    }

    /// Deletes rows for tokens past their expiry (SimpleJWT's `flushexpiredtokens`).
    func flushExpired(on database: any Database) async throws {
        let now = Date()
        try await TokenRevocado.query(on: database).filter(\.$expira < now).delete()
        try await TokenEmitido.query(on: database).filter(\.$expira < now).delete()
    }
}

/// Base64url without padding, as JWTs use it.
enum Base64URL {
    static func decode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
