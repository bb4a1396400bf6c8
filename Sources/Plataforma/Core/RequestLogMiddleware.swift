import Foundation
import Vapor

/// Outermost layer: settles the request id, stamps it on the response and logs one line per request.
struct RequestLogMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let inFlight = request.application.inFlightRequests
        inFlight.enter()
        defer { inFlight.leave() }
        let start = ContinuousClock.now
        let id = Self.acceptableID(request.headers.first(name: "X-Request-ID")) ?? UUID().uuidString.lowercased()
        request.requestID = id
        request.logger[metadataKey: "request-id"] = .string(id)
        let response: Response
        do {
            response = try await next.respond(to: request)
        } catch {
            // ErrorMiddleware sits inside this one; this only guards against a misordered stack.
            response = ErrorMiddleware.response(for: ErrorMiddleware.classify(error, for: request), request: request)
        }
        response.headers.replaceOrAdd(name: "X-Request-ID", value: id)
        // Below `info` (LOG_LEVEL=warning) the line is not written: do not build it either.
        guard request.logger.logLevel <= .info else { return response }
        let elapsed = start.duration(to: .now)
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": .string(request.method.rawValue),
            "route": .string(Self.routeTemplate(request)),
            "path": .string(request.url.path),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(String(format: "%.2f", milliseconds)),
            "ip": .string(request.clientIP),
        ]
        if let user = request.loggedUserID { metadata["user_id"] = .stringConvertible(user) }
        request.logger.info("request", metadata: metadata)
        return response
    }

    /// The client's id when it is 1–128 characters of `[A-Za-z0-9._-]`.
    static func acceptableID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count) else { return nil }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        return allowed ? value : nil
    }

    /// `/api/usuarios/:id`: the matched route's template, or `unmatched` (keeps label sets bounded).
    static func routeTemplate(_ request: Request) -> String {
        guard let route = request.route else { return "unmatched" }
        return "/" + route.path.map(\.description).joined(separator: "/")
    }
}

/// Adds the security headers of SPEC §7 to every response.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    let production: Bool

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        let headers: [(String, String)] = [
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ]
        for (name, value) in headers where !response.headers.contains(name: name) {
            response.headers.replaceOrAdd(name: name, value: value)
        }
        if production {
            response.headers.replaceOrAdd(name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains")
        }
        return response
    }
}

/// CORS for `CORS_ALLOWED_ORIGINS` only, with credentials; other origins get no CORS headers.
struct CORSMiddleware: AsyncMiddleware {
    let allowedOrigins: Set<String>
    static let allowedMethods = "DELETE, GET, OPTIONS, PATCH, POST, PUT"
    static let allowedHeaders = "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with, x-request-id, idempotency-key, if-none-match, range"
    static let exposedHeaders = "X-Request-ID, Retry-After, Content-Disposition, ETag, Content-Range"

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let origin = request.headers.first(name: .origin)
        let allowed = origin.map { allowedOrigins.contains($0) } ?? false
        let isPreflight = request.method == .OPTIONS && request.headers.contains(name: .accessControlRequestMethod)
        let response: Response
        if isPreflight {
            response = Response(status: .ok)
            if allowed {
                response.headers.replaceOrAdd(name: .accessControlAllowMethods, value: Self.allowedMethods)
                response.headers.replaceOrAdd(name: .accessControlAllowHeaders, value: Self.allowedHeaders)
                response.headers.replaceOrAdd(name: .accessControlMaxAge, value: "86400")
            }
        } else {
            response = try await next.respond(to: request)
            if allowed {
                response.headers.replaceOrAdd(name: .accessControlExpose, value: Self.exposedHeaders)
            }
        }
        if allowed, let origin {
            response.headers.replaceOrAdd(name: .accessControlAllowOrigin, value: origin)
            response.headers.replaceOrAdd(name: .accessControlAllowCredentials, value: "true")
        }
        response.headers.add(name: .vary, value: "Origin")
        return response
    }
}
