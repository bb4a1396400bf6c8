import Fluent
import Vapor

/// The browser's cookie mode and the caller's own account: `/api/auth/…` (SPEC §3).
struct AuthController {
    /// Login, refresh and logout: they read their own credentials, not the access token.
    func bootCredentials(routes: any RoutesBuilder) {
        let auth = routes.grouped("auth")
        auth.post("login", use: login)
        auth.post("refresh", use: refresh)
        auth.post("logout", use: logout)
    }

    /// The caller's own account; mounted behind authentication.
    func bootAccount(routes: any RoutesBuilder) {
        let auth = routes.grouped("auth")
        auth.get("me", use: me)
        auth.patch("me", use: updateMe)
        auth.post("cambiar-password", use: changePassword)
    }

    struct LoginResponse: Content { var usuario: UsuarioDTO }

    @Sendable func login(req: Request) async throws -> Response {
        let credentials = try LoginService.credentials(from: req)
        let user = try await LoginService.authenticate(email: credentials.email, password: credentials.password, request: req)
        let pair = try await req.tokens.issuePair(for: user, on: req.db)
        let response = try await LoginResponse(usuario: user.toDTO(req)).encodeResponse(for: req)
        AuthCookies.set(pair, on: response, settings: req.application.settings)
        return response
    }

    /// Rotates from the refresh cookie; the request is cookie-authenticated, so CSRF applies.
    @Sendable func refresh(req: Request) async throws -> Response {
        guard let token = req.cookies[AuthCookies.refresh]?.string, !token.isEmpty else {
            throw APIError.notAuthenticated
        }
        try CSRF.check(req)
        switch try await req.tokens.refresh(token, actor: req.auditActor, on: req.db) {
        case .rotated(let pair, let user):
            req.loggedUserID = user.id
            let response = try await EmptyObject().encodeResponse(for: req)
            AuthCookies.set(pair, on: response, settings: req.application.settings)
            return response
        case .refused, .reuseDetected:
            throw TokenService.notValid(.refresh)
        }
    }

    @Sendable func logout(req: Request) async throws -> Response {
        if let token = req.cookies[AuthCookies.refresh]?.string, !token.isEmpty {
            try CSRF.check(req)
            // An already dead token still logs the browser out: the cookies go either way.
            do {
                req.loggedUserID = try await req.tokens.blacklist(token, actor: req.auditActor, on: req.db)
            } catch let error as APIError where error.status == .unauthorized {}
        }
        let response = try await EmptyObject().encodeResponse(for: req)
        AuthCookies.clear(on: response, settings: req.application.settings)
        return response
    }

    @Sendable func me(req: Request) async throws -> UsuarioDTO {
        try await req.requireUser().toDTO(req)
    }

    @Sendable func updateMe(req: Request) async throws -> UsuarioDTO {
        let user = try req.requireUser()
        var input = try JSONInput.parse(req, partial: true)
        let nombre = input.string("nombre", maxLength: 150)
        let apellidos = input.string("apellidos", allowBlank: true, maxLength: 150)
        try input.finish()
        let before = try user.toDTO(fotoURL: nil)
        if let nombre { user.nombre = nombre }
        if let apellidos { user.apellidos = apellidos }
        try await req.writeTransaction { db in
            try await user.save(on: db)
            try await req.audit(.actualizar, "usuarios", id: user.id, antes: before, despues: try user.toDTO(fotoURL: nil), on: db)
        }
        return try await user.toDTO(req)
    }

    struct PasswordChanged: Content {
        var detail: String
        var access: String
        var refresh: String?
    }

    /// Changes the caller's password, ends every other login, and hands back a fresh pair
    /// (and fresh cookies in cookie mode) so this session goes on.
    @Sendable func changePassword(req: Request) async throws -> Response {
        let user = try req.requireUser()
        var input = try JSONInput.parse(req)
        let current = input.string("password_actual", maxLength: 4_096, trim: false)
        let new = input.string("password_nueva", maxLength: 4_096, trim: false)
        try input.finish()
        guard let current, let new else { throw APIError.parseError }
        var errors = FieldErrors()
        let stored = user.password
        if !(try await req.offload { PasswordHasher.verify(current, against: stored) }) {
            errors.add("password_actual", "La contraseña actual no es correcta.")
        }
        for message in PasswordValidators.validate(new, email: user.email, nombre: user.nombre, apellidos: user.apellidos) {
            errors.add("password_nueva", message)
        }
        try errors.throwIfAny()
        let hash = try await req.offload { try PasswordHasher.hash(new) }
        let tokens = req.tokens
        let pair = try await req.writeTransaction { db in
            try await UsuarioRules.setPassword(hash, for: user, on: db, tokens: tokens)
            try await req.audit(.actualizar, "usuarios", id: user.id, despues: ["password": "[oculto]"] as JSONValue, on: db)
            return try await tokens.issuePair(for: user, on: db)
        }
        let response = try await PasswordChanged(detail: "Contraseña actualizada.", access: pair.access, refresh: pair.refresh)
            .encodeResponse(for: req)
        if req.authMethod == .cookie { AuthCookies.set(pair, on: response, settings: req.application.settings) }
        return response
    }
}
