import Foundation
import Vapor

/// Per-request facts that middleware find out and later layers (logs, auth, throttles) read.
extension Request {
    private struct RequestIDKey: StorageKey { typealias Value = String }
    private struct UserIDKey: StorageKey { typealias Value = Int }
    private struct ClientIPKey: StorageKey { typealias Value = String }

    /// The `X-Request-ID` of this request: the client's when well formed, else a fresh UUID.
    public var requestID: String {
        get { storage[RequestIDKey.self] ?? "" }
        set { storage[RequestIDKey.self] = newValue }
    }

    /// The authenticated user's id, once authentication has run (for logs and throttles).
    public var loggedUserID: Int? {
        get { storage[UserIDKey.self] }
        set { storage[UserIDKey.self] = newValue }
    }

    /// The client's address: the peer's, or `X-Forwarded-For`'s when the peer is a trusted proxy.
    public var clientIP: String {
        if let cached = storage[ClientIPKey.self] { return cached }
        let ip = ClientAddress.resolve(self, trusted: application.settings.trustedProxies)
        storage[ClientIPKey.self] = ip
        return ip
    }
}

enum ClientAddress {
    static func peer(_ request: Request) -> String {
        request.remoteAddress?.ipAddress ?? "0.0.0.0"
    }

    static func isTrustedPeer(_ request: Request, trusted: [IPNetwork]) -> Bool {
        let address = peer(request)
        return trusted.contains { $0.contains(address) }
    }

    /// Walks `X-Forwarded-For` from the right, skipping trusted proxies, as a proxy chain demands.
    static func resolve(_ request: Request, trusted: [IPNetwork]) -> String {
        let address = peer(request)
        guard trusted.contains(where: { $0.contains(address) }) else { return address }
        let hops = request.headers[.xForwardedFor]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { IPNetwork.parse($0) != nil }
        for hop in hops.reversed() where !trusted.contains(where: { $0.contains(hop) }) {
            return hop
        }
        return hops.first ?? address
    }
}
