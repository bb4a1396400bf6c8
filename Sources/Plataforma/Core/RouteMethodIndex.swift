import Vapor

/// Knows which methods each registered path answers, so an unknown method on a known path is a
/// 405 with `Allow` (Vapor alone says 404) and `OPTIONS` can be answered as DRF does.
/// Consulted only for requests no route matched, so a linear scan is enough.
final class RouteMethodIndex: Sendable {
    private let entries: [(path: [PathComponent], methods: [HTTPMethod])]

    init(routes: Routes) {
        var entries: [(path: [PathComponent], methods: [HTTPMethod])] = []
        for route in routes.all {
            let path = route.path.filter { if case .constant("") = $0 { false } else { true } }
            if let index = entries.firstIndex(where: { $0.path == path }) {
                entries[index].methods.append(route.method)
            } else {
                entries.append((path, [route.method]))
            }
        }
        self.entries = entries.map { entry in
            (entry.path, entry.methods.contains(.OPTIONS) ? entry.methods : entry.methods + [.OPTIONS])
        }
    }

    func methods(for path: String) -> [HTTPMethod]? {
        let components = path.split(separator: "/").map(String.init)
        let matching = entries.filter { Self.matches($0.path, components) }
        guard !matching.isEmpty else { return nil }
        var methods: [HTTPMethod] = []
        for method in matching.flatMap(\.methods) where !methods.contains(method) { methods.append(method) }
        return methods
    }

    private static func matches(_ pattern: [PathComponent], _ components: [String]) -> Bool {
        var index = 0
        for part in pattern {
            switch part {
            case .catchall: return index < components.count
            case .anything, .parameter:
                guard index < components.count else { return false }
            case .constant(let value):
                guard index < components.count, components[index] == value else { return false }
            }
            index += 1
        }
        return index == components.count
    }

    /// The error for a request no route matched: 405 when the path exists under other methods.
    static func notFoundError(for request: Request) -> APIError {
        guard let index = request.application.storage[Key.self],
              let allowed = index.methods(for: request.url.path) else { return .notFound }
        return .methodNotAllowed(request.method, allowed: allowed)
    }

    struct Key: StorageKey { typealias Value = RouteMethodIndex }
}

/// Answers `OPTIONS` on known paths with `Allow`, like DRF's metadata response (CORS preflights
/// are answered earlier by `CORSMiddleware`).
struct OptionsMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.method == .OPTIONS,
              let index = request.application.storage[RouteMethodIndex.Key.self],
              let allowed = index.methods(for: request.url.path) else {
            return try await next.respond(to: request)
        }
        let response = Response(status: .ok)
        response.headers.replaceOrAdd(name: .allow, value: allowed.map(\.rawValue).joined(separator: ", "))
        try response.content.encode(
            ["renders": ["application/json"], "parses": ["application/json"]], as: .json)
        return response
    }
}
