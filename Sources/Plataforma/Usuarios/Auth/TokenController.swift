import Vapor

/// SimpleJWT's four endpoints: `/api/token/`, `refresh/`, `blacklist/`, `verify/`.
struct TokenController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let token = routes.grouped("token")
        token.post(use: obtain)
        token.post("refresh", use: refresh)
        token.post("blacklist", use: blacklist)
        token.post("verify", use: verify)
    }

    @Sendable func obtain(req: Request) async throws -> TokenPair {
        let credentials = try LoginService.credentials(from: req)
        let user = try await LoginService.authenticate(email: credentials.email, password: credentials.password, request: req)
        return try await req.tokens.issuePair(for: user, on: req.db)
    }

    @Sendable func refresh(req: Request) async throws -> TokenPair {
        let token = try Self.tokenField("refresh", from: req)
        switch try await req.tokens.refresh(token, actor: req.auditActor, on: req.db) {
        case .rotated(let pair, _): return pair
        case .refused, .reuseDetected: throw TokenService.notValid(.refresh)
        }
    }

    @Sendable func blacklist(req: Request) async throws -> EmptyObject {
        let token = try Self.tokenField("refresh", from: req)
        req.loggedUserID = try await req.tokens.blacklist(token, actor: req.auditActor, on: req.db)
        return EmptyObject()
    }

    @Sendable func verify(req: Request) async throws -> EmptyObject {
        let token = try Self.tokenField("token", from: req)
        try await req.tokens.verify(token, on: req.db)
        return EmptyObject()
    }

    static func tokenField(_ name: String, from req: Request) throws -> String {
        var input = try JSONInput.parse(req)
        let token = input.string(name, maxLength: 4_096)
        try input.finish()
        guard let token else { throw APIError.parseError }
        return token
    }
}

/// `{}`, the body of logouts and of successful verifications.
struct EmptyObject: Content {}
