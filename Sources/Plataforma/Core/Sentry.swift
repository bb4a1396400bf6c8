import Foundation
import NIOConcurrencyHelpers
import Vapor

/// A Sentry DSN: `https://<public key>@<host>[:port][/path]/<project id>`.
public struct SentryDSN: Sendable, Equatable, CustomStringConvertible {
    public let publicKey: String
    /// `…/api/<project>/envelope/`, where events are posted.
    public let envelopeURL: String

    public init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty, let key = components.user, !key.isEmpty else { return nil }
        var path = components.path.split(separator: "/").map(String.init)
        guard let project = path.popLast(), !project.isEmpty, project.allSatisfy(\.isNumber) else { return nil }
        let port = components.port.map { ":\($0)" } ?? ""
        let prefix = path.map { "/" + $0 }.joined()
        publicKey = key
        envelopeURL = "\(scheme)://\(host)\(port)\(prefix)/api/\(project)/envelope/"
    }

    /// Safe to log: no key.
    public var description: String { envelopeURL }
}

/// Sends 5xx and unhandled errors to Sentry as envelopes, in the background, with the request's
/// context and nothing secret: credentials headers, cookies, tokens and passwords are filtered.
public final class SentryReporter: Sendable {
    let dsn: SentryDSN
    let environment: String
    let client: any Client
    let logger: Logger
    private let inFlight = NIOLockedValueBox(0)
    static let maxInFlight = 32
    static let filtered = "[Filtered]"
    static let sensitiveHeaders: Set<String> = ["authorization", "cookie", "set-cookie", "x-csrftoken", "x-csrf-token", "proxy-authorization",
                                                 "x-api-key", "idempotency-key"]
    static let sensitiveQuery = ["token", "password", "refresh", "access", "secret", "key", "code", "state"]

    init(dsn: SentryDSN, environment: String, client: any Client, logger: Logger) {
        self.dsn = dsn
        self.environment = environment
        self.client = client
        self.logger = logger
    }

    /// Reports without delaying the response; drops events when too many are already in flight.
    func capture(_ error: any Error, status: HTTPResponseStatus, request: Request) {
        let admitted = inFlight.withLockedValue { count in
            guard count < Self.maxInFlight else { return false }
            count += 1
            return true
        }
        guard admitted else { return }
        let envelope = Self.envelope(event: Self.event(error, status: status, request: request, environment: environment), dsn: dsn)
        Task {
            defer { inFlight.withLockedValue { $0 -= 1 } }
            await send(envelope)
        }
    }

    func send(_ envelope: ByteBuffer) async {
        do {
            let response = try await client.post(URI(string: dsn.envelopeURL), headers: [
                "Content-Type": "application/x-sentry-envelope",
                "X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=\(dsn.publicKey), sentry_client=plataforma/1.0",
            ]) { request in
                request.body = envelope
                request.timeout = .seconds(5)
            }
            if response.status.code >= 300 {
                logger.warning("Sentry refused an event", metadata: ["status": "\(response.status.code)"])
            }
        } catch {
            logger.warning("Sentry unreachable", metadata: ["error": "\(error)"])
        }
    }

    static func event(_ error: any Error, status: HTTPResponseStatus, request: Request, environment: String) -> JSONValue {
        let message: String
        if error is APIError { message = "\(status.code) \(status.reasonPhrase)" } else { message = String(describing: error) }
        var headers: [String: JSONValue] = [:]
        for (name, value) in request.headers {
            headers[name.lowercased()] = .string(sensitiveHeaders.contains(name.lowercased()) ? filtered : scrub(value))
        }
        let query = (request.url.query ?? "").split(separator: "&").map { pair -> String in
            let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return sensitiveQuery.contains(where: { name.lowercased().contains($0) }) ? "\(name)=\(filtered)" : scrub(String(pair))
        }.joined(separator: "&")
        let route = request.route.map { "/" + $0.path.map(\.description).joined(separator: "/") } ?? request.url.path
        var user: JSONValue = .null
        if let id = request.authenticatedUser?.id ?? request.loggedUserID { user = ["id": .string(String(id))] }
        return [
            "event_id": .string(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()),
            "timestamp": .double(Date().timeIntervalSince1970),
            "platform": "other", "level": "error", "logger": "plataforma", "environment": .string(environment),
            "transaction": .string("\(request.method.rawValue) \(route)"),
            "exception": ["values": [["type": .string(String(describing: type(of: error))), "value": .string(scrub(message))]]],
            "request": ["method": .string(request.method.rawValue), "url": .string(request.url.path),
                        "query_string": .string(query), "headers": .object(headers)],
            "tags": ["request_id": .string(request.requestID), "route": .string(route), "status": .string(String(status.code))],
            "user": user,
        ]
    }

    /// Masks anything shaped like a JWT or a `password=`/`token=` pair inside free text.
    static func scrub(_ text: String) -> String {
        var result = text.replacingOccurrences(of: #"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"#, with: filtered, options: .regularExpression)
        result = result.replacingOccurrences(of: #"(?i)(password|passwd|token|secret|refresh|access)(["']?\s*[:=]\s*["']?)[^"'&\s,}]+"#,
                                             with: "$1$2\(filtered)", options: .regularExpression)
        return result
    }

    static func envelope(event: JSONValue, dsn: SentryDSN) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(event)) ?? Data("{}".utf8)
        let eventID: String = if case .object(let fields) = event, case .string(let id)? = fields["event_id"] { id } else { "" }
        var buffer = ByteBuffer()
        buffer.writeString(#"{"event_id":"\#(eventID)","sent_at":"\#(ISO8601DateFormatter().string(from: Date()))"}"# + "\n")
        buffer.writeString(#"{"type":"event","length":\#(body.count),"content_type":"application/json"}"# + "\n")
        buffer.writeBytes(body)
        buffer.writeString("\n")
        return buffer
    }
}

extension Application {
    private struct SentryKey: StorageKey { typealias Value = SentryReporter }

    /// Present when `SENTRY_DSN` is set.
    public var sentry: SentryReporter? {
        get { storage[SentryKey.self] }
        set { storage[SentryKey.self] = newValue }
    }
}
