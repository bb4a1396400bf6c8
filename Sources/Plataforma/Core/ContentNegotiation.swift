import Vapor

/// DRF's content negotiation for JSON endpoints: an `Accept` header that rules JSON out is 406.
struct JSONAcceptMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let accept = request.headers.first(name: .accept), !Self.acceptsJSON(accept) {
            throw APIError.notAcceptable
        }
        return try await next.respond(to: request)
    }

    static func acceptsJSON(_ header: String) -> Bool {
        let ranges = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if ranges.allSatisfy(\.isEmpty) { return true }
        for range in ranges {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first else { continue }
            let quality = parts.dropFirst().first(where: { $0.hasPrefix("q=") }).flatMap { Double($0.dropFirst(2)) } ?? 1
            if quality > 0, ["*/*", "application/*", "application/json"].contains(type) { return true }
        }
        return false
    }
}
