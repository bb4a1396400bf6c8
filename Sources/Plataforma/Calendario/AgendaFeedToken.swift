import Crypto
import Fluent
import Foundation
import Vapor

/// The secret in a user's iCalendar feed URL. Only its SHA-256 is stored, with a random nonce:
/// the token is HMAC(secret key, user, credential version, nonce), so the URL can be shown
/// again, a database dump alone reveals no feed, and a password change or a new secret key ends
/// every feed URL issued before it.
enum AgendaFeedToken {
    static let invalid = APIError.authenticationFailed("El token del calendario no es válido.")

    /// The caller's current token: created on first use, re-issued when it no longer derives
    /// from the stored nonce (new secret key or password).
    static func current(for user: Usuario, secretKey: String, on db: any Database) async throws -> String {
        let userID = try user.requireID()
        if let row = try await AgendaToken.query(on: db).filter(\.$usuario.$id == userID).first(), !row.nonce.isEmpty {
            let token = derive(user: user, nonce: row.nonce, secretKey: secretKey)
            if hash(token) == row.tokenHash { return token }
        }
        return try await replace(for: user, secretKey: secretKey, on: db)
    }

    /// A new token for `user`; the previous URL stops working.
    static func replace(for user: Usuario, secretKey: String, on db: any Database) async throws -> String {
        let userID = try user.requireID()
        let nonce = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let token = derive(user: user, nonce: nonce, secretKey: secretKey)
        let row = try await AgendaToken.query(on: db).filter(\.$usuario.$id == userID).first() ?? AgendaToken(usuarioID: userID)
        row.nonce = nonce
        row.tokenHash = hash(token)
        row.creado = Date()
        do {
            try await row.save(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure && row.id == nil {
            // A concurrent first request created the row: use its token.
            return try await current(for: user, secretKey: secretKey, on: db)
        }
        return token
    }

    /// The account behind a feed token, or 401.
    static func user(for token: String, secretKey: String, on db: any Database) async throws -> Usuario {
        guard token.utf8.count == 64, token.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              let row = try await AgendaToken.query(on: db).filter(\.$tokenHash == hash(token)).with(\.$usuario).first()
        else { throw invalid }
        let user = row.usuario
        guard user.activo else { throw APIError.unauthorized("El usuario está inactivo", code: "user_inactive") }
        guard PasswordHasher.constantTimeEquals(derive(user: user, nonce: row.nonce, secretKey: secretKey), token) else {
            throw invalid
        }
        return user
    }

    /// The feed's absolute URL as the client reaches this server.
    static func url(_ token: String, for req: Request) -> String {
        AbsoluteURL.base(req) + "/api/agenda/ics/?token=" + token
    }

    static func derive(user: Usuario, nonce: String, secretKey: String) -> String {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(secretKey.utf8)),
                                         salt: Data("plataforma.agenda-ics".utf8), info: Data("v1".utf8), outputByteCount: 32)
        let message = "\(user.id ?? 0):\(user.tokenVersion):\(nonce)"
        return hex(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key))
    }

    static func hash(_ token: String) -> String { hex(SHA256.hash(data: Data(token.utf8))) }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
