import AsyncKit
import FluentKit
import NIOCore
import NIOPosix
import PostgresNIO
import SQLiteNIO
import Vapor

/// Decides every error response: `APIError` as it is, Vapor's and the database's errors mapped to
/// DRF's shape, anything else a 500 that reveals nothing but the request id in the log.
public struct ErrorMiddleware: AsyncMiddleware {
    public init() {}

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            let apiError = Self.classify(error, for: request)
            if apiError.status == .internalServerError {
                request.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            } else if apiError.status == .serviceUnavailable {
                request.logger.warning("database unavailable", metadata: ["error": "\(String(reflecting: error))"])
            }
            if apiError.status.code >= 500 {
                request.application.sentry?.capture(error, status: apiError.status, request: request)
            }
            return Self.response(for: apiError, request: request)
        }
    }

    static func response(for error: APIError, request: Request) -> Response {
        let response = Response(status: error.status)
        for (name, value) in error.headers { response.headers.replaceOrAdd(name: name, value: value) }
        switch error.body {
        case .detail(let detail, let code):
            try? response.content.encode(["detail": detail, "code": code], as: .json)
        case .fields(let fields):
            try? response.content.encode(fields, as: .json)
        case .custom(let object):
            try? response.content.encode(object, as: .json)
        case .json(let value):
            try? response.content.encode(value, as: .json)
        }
        return response
    }

    static func classify(_ error: any Error, for request: Request) -> APIError {
        if let apiError = error as? APIError { return apiError }
        if error is RouteNotFound { return RouteMethodIndex.notFoundError(for: request) }
        if error is DatabaseUnavailable { return .serviceUnavailable(retryAfter: 2) }
        if isDatabaseUnavailable(error) { return .serviceUnavailable() }
        if error is DecodingError { return .parseError }
        if let abort = error as? any AbortError {
            switch abort.status {
            case .notFound: return .notFound
            case .payloadTooLarge: return .requestTooLarge
            case .unsupportedMediaType:
                return .unsupportedMediaType(request.headers.first(name: .contentType) ?? "")
            case .badRequest: return .parseError
            case .unauthorized: return .notAuthenticated
            case .forbidden: return .permissionDenied
            case .methodNotAllowed: return .methodNotAllowed(request.method, allowed: [])
            case .notAcceptable: return .notAcceptable
            case .tooManyRequests: return .throttled(retryAfter: 1)
            case .serviceUnavailable: return .serviceUnavailable()
            default:
                if abort.status.code >= 500 { return .serverError }
                return APIError(abort.status, abort.reason, code: "error")
            }
        }
        return .serverError
    }

    /// Connection-level failures (refused, dropped, pool exhausted, SQLite busy) mean "try again".
    static func isDatabaseUnavailable(_ error: any Error) -> Bool {
        switch error {
        case is DatabaseUnavailable, is NIOConnectionError, is ChannelError, is ConnectionPoolTimeoutError, is ConnectionPoolError:
            return true
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            case .server:
                // 08: connection exception, 53: insufficient resources, 57P0x: shutdown in progress.
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P")
            default:
                return false
            }
        case let error as SQLiteError:
            // Busy or locked, including a write that found its read snapshot stale: retry later.
            return [.busy, .locked, .busyInSnapshot, .busyInRecovery, .busyTimeout].contains(error.reason)
        case let error as IOError:
            return [ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT].contains(error.errnoCode)
        default:
            return false
        }
    }
}
