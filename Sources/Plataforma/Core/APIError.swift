import FluentKit
import Vapor

/// The one error type of the API; `ErrorMiddleware` turns it (and every other error) into DRF's shape.
public struct APIError: Error, Sendable {
    public enum Body: Sendable {
        case detail(String, code: String)
        case fields(FieldErrors)
        case custom([String: JSONValue])
        /// Any JSON, for DRF's list-shaped errors of list payloads.
        case json(JSONValue)
    }

    public var status: HTTPResponseStatus
    public var body: Body
    public var headers: HTTPHeaders

    public init(_ status: HTTPResponseStatus, _ detail: String, code: String, headers: HTTPHeaders = [:]) {
        self.status = status
        self.body = .detail(detail, code: code)
        self.headers = headers
    }

    public init(status: HTTPResponseStatus, body: Body, headers: HTTPHeaders = [:]) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    static let bearerChallenge: HTTPHeaders = ["WWW-Authenticate": #"Bearer realm="api""#]

    public static func validation(_ errors: FieldErrors) -> APIError {
        APIError(status: .badRequest, body: .fields(errors))
    }

    public static func field(_ name: String, _ message: String) -> APIError {
        var errors = FieldErrors()
        errors.add(name, message)
        return .validation(errors)
    }

    public static let parseError = APIError(.badRequest, "JSON mal formado.", code: "parse_error")
    public static let notFound = APIError(.notFound, "No encontrado.", code: "not_found")
    public static let invalidPage = APIError(.notFound, "Página inválida.", code: "not_found")
    public static let notAuthenticated = APIError(
        .unauthorized, "Las credenciales de autenticación no se proveyeron.", code: "not_authenticated", headers: bearerChallenge)
    public static let permissionDenied = APIError(
        .forbidden, "Usted no tiene permiso para realizar esta acción.", code: "permission_denied")
    public static let notAcceptable = APIError(
        .notAcceptable, "No se ha podido satisfacer la solicitud de cabecera de Accept.", code: "not_acceptable")
    public static let requestTooLarge = APIError(
        .payloadTooLarge, "El cuerpo de la solicitud es demasiado grande.", code: "request_too_large")
    public static let serverError = APIError(
        .internalServerError, "Error interno del servidor.", code: "server_error")

    public static func authenticationFailed(_ detail: String = "Credenciales de autenticación incorrectas.") -> APIError {
        APIError(.unauthorized, detail, code: "authentication_failed", headers: bearerChallenge)
    }

    public static func tokenNotValid(_ detail: String = "El token es inválido o ha expirado.") -> APIError {
        APIError(.unauthorized, detail, code: "token_not_valid", headers: bearerChallenge)
    }

    public static func unauthorized(_ detail: String, code: String) -> APIError {
        APIError(.unauthorized, detail, code: code, headers: bearerChallenge)
    }

    public static func permissionDenied(_ detail: String) -> APIError {
        APIError(.forbidden, detail, code: "permission_denied")
    }

    public static func csrfFailed(_ reason: String) -> APIError {
        APIError(.forbidden, "CSRF fallido: \(reason)", code: "csrf_failed")
    }

    public static func methodNotAllowed(_ method: HTTPMethod, allowed: [HTTPMethod]) -> APIError {
        APIError(.methodNotAllowed, "Método \"\(method.rawValue)\" no permitido.", code: "method_not_allowed",
                 headers: ["Allow": allowed.map(\.rawValue).joined(separator: ", ")])
    }

    public static func unsupportedMediaType(_ mediaType: String) -> APIError {
        APIError(.unsupportedMediaType, "Tipo de medio \"\(mediaType)\" incompatible en la solicitud.", code: "unsupported_media_type")
    }

    public static func throttled(retryAfter seconds: Int) -> APIError {
        let wait = max(1, seconds)
        let unit = wait == 1 ? "segundo" : "segundos"
        return APIError(.tooManyRequests, "Solicitud fue regulada (throttled). Se espera que esté disponible en \(wait) \(unit).",
                        code: "throttled", headers: ["Retry-After": String(wait)])
    }

    public static func serviceUnavailable(retryAfter seconds: Int = 5) -> APIError {
        APIError(.serviceUnavailable, "Servicio no disponible temporalmente. Inténtelo de nuevo más tarde.",
                 code: "service_unavailable", headers: ["Retry-After": String(seconds)])
    }

    public static func conflict(_ detail: String, code: String = "conflict") -> APIError {
        APIError(.conflict, detail, code: code)
    }
}

/// DRF's `{"campo": ["mensaje", ...], "non_field_errors": [...]}`, kept in insertion order. A list
/// field's items nest as DRF nests them: `{"campo": [{}, {"sub": ["mensaje"]}]}`.
public struct FieldErrors: Sendable, Encodable {
    enum Value: Sendable {
        case messages([String])
        case items([FieldErrors])
    }

    private(set) var entries: [(field: String, value: Value)] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    public mutating func add(_ field: String, _ message: String) {
        if let index = entries.firstIndex(where: { $0.field == field }), case .messages(let existing) = entries[index].value {
            entries[index].value = .messages(existing + [message])
        } else if !entries.contains(where: { $0.field == field }) {
            entries.append((field, .messages([message])))
        }
    }

    public mutating func addNonField(_ message: String) { add("non_field_errors", message) }

    /// Per-item errors of a list field; only kept when some item has errors.
    public mutating func setItems(_ field: String, _ items: [FieldErrors]) {
        guard items.contains(where: { !$0.isEmpty }) else { return }
        entries.removeAll { $0.field == field }
        entries.append((field, .items(items)))
    }

    public mutating func merge(_ other: FieldErrors) {
        for entry in other.entries {
            switch entry.value {
            case .messages(let messages): for message in messages { add(entry.field, message) }
            case .items(let items): setItems(entry.field, items)
            }
        }
    }

    public func messages(for field: String) -> [String] {
        guard let entry = entries.first(where: { $0.field == field }), case .messages(let messages) = entry.value else { return [] }
        return messages
    }

    public func has(_ field: String) -> Bool { entries.contains { $0.field == field } }

    /// Throws a 400 with every collected error, if there is any.
    public func throwIfAny() throws {
        if !isEmpty { throw APIError.validation(self) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        for entry in entries {
            switch entry.value {
            case .messages(let messages): try container.encode(messages, forKey: DynamicKey(entry.field))
            case .items(let items): try container.encode(items, forKey: DynamicKey(entry.field))
            }
        }
    }
}

/// A coding key made from any string, for bodies whose keys are data.
public struct DynamicKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

/// Runs a write whose rule a pre-check already tested; if a concurrent writer got past the same
/// check first, the database constraint fires and the caller gets `error`, the answer the
/// pre-check would have given.
public func mappingConstraintFailure<T>(to error: @autoclosure () -> APIError,
                                        _ work: () async throws -> T) async throws -> T {
    do {
        return try await work()
    } catch let failure as any DatabaseError where failure.isConstraintFailure {
        throw error()
    }
}
