import Fluent
import Foundation
import Vapor

/// Credential checks shared by `/api/token/` and the cookie login, with the login throttles of
/// SPEC §7: per IP for every attempt, and per email for failures.
enum LoginService {
    static let noActiveAccount = APIError.unauthorized(
        "No se encontró una cuenta activa con las credenciales proporcionadas.", code: "no_active_account")

    /// Reads `{"email" | "username", "password"}` with DRF's field errors.
    static func credentials(from request: Request) throws -> (email: String, password: String) {
        var input = try JSONInput.parse(request)
        let field = input.has("email") || !input.has("username") ? "email" : "username"
        let email = input.string(field, maxLength: 254)
        let password = input.string("password", maxLength: 4_096, trim: false)
        try input.finish()
        guard let email, let password else { throw APIError.parseError }
        return (email, password)
    }

    static func authenticate(email: String, password: String, request: Request) async throws -> Usuario {
        let settings = request.application.settings
        let store = request.application.rateLimits
        if let rate = settings.throttleLoginIP {
            let decision = try await store.acquire("login:ip:\(request.clientIP)", rate: rate)
            if !decision.allowed { throw APIError.throttled(retryAfter: decision.retryAfter) }
        }
        let failureKey = "login:fail:\(EmailAddress.lookupKey(email))"
        if let rate = settings.throttleLoginFailures {
            let decision = try await store.check(failureKey, rate: rate)
            if !decision.allowed { throw APIError.throttled(retryAfter: decision.retryAfter) }
        }
        let user = try await Usuario.find(email: email, on: request.db)
        let matches: Bool
        if let user {
            let stored = user.password
            matches = try await request.offload { PasswordHasher.verify(password, against: stored) }
        } else {
            try await request.offload { PasswordHasher.burnEquivalentTime(password) }
            matches = false
        }
        guard let user, matches, user.activo else {
            if let rate = settings.throttleLoginFailures { try await store.record(failureKey, rate: rate) }
            request.logger.notice("login failed", metadata: ["ip": .string(request.clientIP)])
            try await Auditor.record(.loginFallido, "tokens", id: user?.id, by: AuditActor(usuarioID: user?.id, ip: request.clientIP),
                                     despues: ["email": .string(String(email.prefix(254)))], on: request.db)
            throw noActiveAccount
        }
        try await store.reset(failureKey)
        if PasswordHasher.needsRehash(user.password) {
            user.password = try await request.offload { try PasswordHasher.hash(password) }
        }
        user.ultimoAcceso = Date()
        request.loggedUserID = user.id
        try await request.writeTransaction { db in
            try await user.save(on: db)
            try await request.audit(.login, "tokens", id: user.id, on: db)
        }
        return user
    }
}
