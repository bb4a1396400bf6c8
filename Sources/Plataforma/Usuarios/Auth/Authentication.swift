import Vapor

/// How a request proved who it is; cookie-authenticated unsafe requests must pass CSRF.
enum AuthMethod: Sendable { case bearer, cookie }

extension Request {
    private struct AuthMethodKey: StorageKey { typealias Value = AuthMethod }

    /// The account behind this request's credentials, if it sent valid ones.
    public var authenticatedUser: Usuario? { auth.get(Usuario.self) }

    private struct DatabaseSnapshotKey: StorageKey { typealias Value = String }

    /// PostgreSQL's `pg_current_snapshot()` as the account lookup of this request read it, on
    /// routes marked `readsDatabaseSnapshot()`: a validator for caches (`MetricasCache`) that
    /// costs no extra round trip.
    var databaseSnapshot: String? {
        get { storage[DatabaseSnapshotKey.self] }
        set { storage[DatabaseSnapshotKey.self] = newValue }
    }

    var authMethod: AuthMethod? {
        get { storage[AuthMethodKey.self] }
        set { storage[AuthMethodKey.self] = newValue }
    }

    /// The authenticated account, or 401 `not_authenticated`.
    public func requireUser() throws -> Usuario {
        guard let user = authenticatedUser else { throw APIError.notAuthenticated }
        return user
    }

    var tokens: TokenService {
        guard let service = application.storage[TokenServiceKey.self] else { fatalError("TokenService not configured") }
        return service
    }
}

struct TokenServiceKey: StorageKey { typealias Value = TokenService }

/// SimpleJWT's `JWTAuthentication` plus the cookie mode of SPEC §3: a Bearer header, or else the
/// `access_token` cookie. Invalid credentials are 401 even where none are required, as in DRF.
struct AuthenticationMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let header = request.headers.first(name: .authorization) {
            let parts = header.split(separator: " ", omittingEmptySubsequences: true)
            if parts.first == "Bearer" {
                guard parts.count == 2 else {
                    throw APIError.authenticationFailed(
                        "El encabezado 'Authorization' debe contener valores delimitados por espacios")
                }
                try await authenticate(token: String(parts[1]), method: .bearer, request: request)
            }
        } else if let cookie = request.cookies[AuthCookies.access]?.string, !cookie.isEmpty {
            try await authenticate(token: cookie, method: .cookie, request: request)
        }
        if request.authMethod == .cookie, !request.method.isSafe {
            try CSRF.check(request)
        }
        return try await next.respond(to: request)
    }

    private func authenticate(token: String, method: AuthMethod, request: Request) async throws {
        let claims = try await request.tokens.decode(token, expecting: .access)
        let (user, snapshot) = try await request.tokens.user(for: claims, snapshot: request.route?.wantsDatabaseSnapshot == true,
                                                             on: request.db)
        request.databaseSnapshot = snapshot
        request.auth.login(user)
        request.authMethod = method
        request.loggedUserID = user.id
    }
}

extension HTTPMethod {
    var isSafe: Bool { self == .GET || self == .HEAD || self == .OPTIONS }
}

/// Django's double-submit check: header `X-CSRFToken` must equal the `csrftoken` cookie.
enum CSRF {
    static let cookie = "csrftoken"
    static let header = "X-CSRFToken"

    static func check(_ request: Request) throws {
        guard let cookie = request.cookies[cookie]?.string, !cookie.isEmpty else {
            throw APIError.csrfFailed("falta la cookie CSRF.")
        }
        guard let header = request.headers.first(name: header), !header.isEmpty else {
            throw APIError.csrfFailed("falta el token CSRF.")
        }
        guard PasswordHasher.constantTimeEquals(cookie, header) else {
            throw APIError.csrfFailed("el token CSRF es incorrecto.")
        }
    }

    static func newToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet.randomElement(using: &generator) ?? "a" })
    }
}

/// The cookies of the browser mode (SPEC §3).
enum AuthCookies {
    static let access = "access_token"
    static let refresh = "refresh_token"
    static let refreshPath = "/api/auth/"

    static func set(_ pair: TokenPair, on response: Response, settings: Settings) {
        let secure = settings.cookieSecure
        response.cookies[access] = HTTPCookies.Value(
            string: pair.access, maxAge: Int(settings.accessTokenLifetime), path: "/",
            isSecure: secure, isHTTPOnly: true, sameSite: .strict)
        if let refresh = pair.refresh {
            response.cookies[self.refresh] = HTTPCookies.Value(
                string: refresh, maxAge: Int(settings.refreshTokenLifetime), path: refreshPath,
                isSecure: secure, isHTTPOnly: true, sameSite: .strict)
        }
        response.cookies[CSRF.cookie] = HTTPCookies.Value(
            string: CSRF.newToken(), maxAge: Int(settings.refreshTokenLifetime), path: "/",
            isSecure: secure, isHTTPOnly: false, sameSite: .strict)
    }

    static func clear(on response: Response, settings: Settings) {
        let secure = settings.cookieSecure
        for (name, path, httpOnly) in [(access, "/", true), (refresh, refreshPath, true), (CSRF.cookie, "/", false)] {
            response.cookies[name] = HTTPCookies.Value(
                string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: path,
                isSecure: secure, isHTTPOnly: httpOnly, sameSite: .strict)
        }
    }
}

extension Route {
    private static let snapshotKey = "plataforma.leeInstantanea"

    /// Marks a route whose handler validates a cache with the database snapshot: its account
    /// lookup reads the snapshot in the same statement (`Request.databaseSnapshot`).
    @discardableResult
    func readsDatabaseSnapshot() -> Route {
        userInfo[AnySendableHashable(Self.snapshotKey)] = true
        return self
    }

    var wantsDatabaseSnapshot: Bool { userInfo[AnySendableHashable(Self.snapshotKey)] != nil }
}
