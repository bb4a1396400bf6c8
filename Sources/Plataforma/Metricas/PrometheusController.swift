import Crypto
import Foundation
import Metrics
import Prometheus
import SQLKit
import Vapor

/// The process-wide Prometheus registry behind swift-metrics. `MetricsSystem.bootstrap` may run
/// once per process, and tests make many apps: the first `configure` installs it.
enum PrometheusExport {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    static func install() { _ = registry }
}

/// `GET /metrics` (SPEC §8): Vapor's own `http_requests_total` and `http_request_duration_seconds`
/// by route template and status, our database and business figures. Served to loopback and
/// `TRUSTED_PROXIES` peers (the client address after proxies, so nginx does not open it to the
/// world), or to `Authorization: Bearer $METRICS_TOKEN`.
struct PrometheusController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("metrics", use: metrics)
    }

    @Sendable func metrics(req: Request) async throws -> Response {
        guard Self.mayScrape(req) else { throw APIError.permissionDenied }
        Self.updatePoolGauges(req.application)
        do {
            try await Self.updateBusinessGauges(req)
        } catch {
            // The database being down is exactly when the scrape must still answer (pool gauges).
            req.logger.debug("business gauges skipped", metadata: ["error": "\(error)"])
        }
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .contentType, value: "text/plain; version=0.0.4; charset=utf-8")
        return Response(status: .ok, headers: headers, body: .init(data: Data(PrometheusExport.registry.emitToBuffer())))
    }

    static func mayScrape(_ req: Request) -> Bool {
        let settings = req.application.settings
        if let expected = settings.metricsToken, let sent = req.headers.bearerAuthorization?.token {
            return Data(SHA256.hash(data: Data(sent.utf8))) == Data(SHA256.hash(data: Data(expected.utf8)))
        }
        let client = req.clientIP
        return IPNetwork.loopback.contains { $0.contains(client) } || settings.trustedProxies.contains { $0.contains(client) }
    }

    /// Active projects, mentors and hours by state, read from the same aggregates as `/api/metricas/`.
    static func updateBusinessGauges(_ req: Request) async throws {
        guard let sql = req.db as? any SQLDatabase else { return }
        let counts = try await MetricasQuery.counts(on: sql)
        gauge("plataforma_proyectos_activos", "Proyectos en estado activo").set(Double(counts.proyectosActivos))
        gauge("plataforma_mentores", "Mentores", [("estado", "registrado")]).set(Double(counts.mentores))
        gauge("plataforma_mentores", "Mentores", [("estado", "activo")]).set(Double(counts.mentoresActivos))
        for (estado, horas) in try await MetricasQuery.totalsByState(on: sql).sorted(by: { $0.key < $1.key }) {
            gauge("plataforma_horas", "Horas registradas por estado", [("estado", estado)]).set(Hours.value(horas))
        }
    }

    /// The PostgreSQL pool: connections by state, requests waiting, and whether the server answers.
    static func updatePoolGauges(_ app: Application) {
        guard let pool = app.postgresPool else { return }
        let snapshot = pool.snapshot
        let help = "Conexiones del pool de PostgreSQL por estado"
        gauge("plataforma_db_pool_conexiones", help, [("estado", "libre")]).set(Double(snapshot.idle))
        gauge("plataforma_db_pool_conexiones", help, [("estado", "en_uso")]).set(Double(snapshot.leased))
        gauge("plataforma_db_pool_conexiones", help, [("estado", "abriendo")]).set(Double(snapshot.opening))
        gauge("plataforma_db_pool_esperando", "Peticiones esperando una conexión").set(Double(snapshot.waiting))
        gauge("plataforma_db_disponible", "1 si PostgreSQL acepta conexiones, 0 durante una caída").set(to: snapshot.reachable ? 1 : 0)
    }

    private static func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        PrometheusExport.registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help),
                                            labels: labels)
    }
}

extension IPNetwork {
    static let loopback: [IPNetwork] = ["127.0.0.0/8", "::1/128"].compactMap { IPNetwork($0) }
}
