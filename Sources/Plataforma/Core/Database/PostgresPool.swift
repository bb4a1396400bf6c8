import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO
import SQLKit

/// No connection could be had: the server is known to be unreachable (answered at once), every
/// connection stayed busy past `DATABASE_POOL_TIMEOUT`, or the connection died under the work.
/// `ErrorMiddleware` answers all of them with 503 `service_unavailable` and `Retry-After`.
public struct DatabaseUnavailable: Error, CustomStringConvertible, Sendable {
    public enum Reason: String, Sendable {
        case unreachable, exhausted, connectionLost, shutDown
    }

    public let reason: Reason
    /// What the server or the network said, for the log only.
    public let detail: String

    public var description: String { "database unavailable (\(reason.rawValue)): \(detail)" }
}

/// The PostgreSQL connections of one process (`DATABASE_POOL_SIZE` in all, shared by every event
/// loop), replacing AsyncKit's per-loop pools; `docs/decisions.md` says why.
///
/// - A connection is leased for one statement or one transaction and given back; a connection
///   that closed, or whose work failed at the connection level, is dropped on return, never reused.
/// - When opening a connection fails, the server is taken as unreachable: every request waiting
///   for a connection is answered at once, and from then on a request that finds no idle
///   connection either probes the server with one new connection (when no probe is running) or is
///   answered at once. The first probe that connects (or any connection that is returned
///   working) ends the outage, so the first request after the server is back succeeds.
/// - Waiting for a busy pool is bounded by `leaseTimeout`; opening a connection (TCP, TLS,
///   start-up, authentication) by `connectTimeout`, so a server that accepts and never answers
///   costs one probe at a time, not a queue of stuck requests.
public final class PostgresPool: Sendable {
    public struct Options: Sendable {
        public var maxConnections: Int
        public var leaseTimeout: TimeAmount
        public var connectTimeout: TimeAmount
        public var searchPath: [String]?
        /// Shown as `application_name` in `pg_stat_activity`.
        public var applicationName: String
        /// Whether repeated statements are prepared once per connection (`PreparedStatements`).
        public var preparedStatements: Bool = true
    }

    private struct Waiter {
        let id: Int
        let promise: EventLoopPromise<PostgresConnection>
        var timeout: Scheduled<Void>?
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Idle, leased and being opened: what counts against `maxConnections`.
        var open = 0
        var opening = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var nextConnectionID = 0
        /// Set while the server is unreachable (the last error, for the log).
        var unreachable: String?
        var shutDown = false
        /// Leased connections and when they were leased, for the hold watchdog.
        var leased: [ObjectIdentifier: (connection: PostgresConnection, since: NIODeadline)] = [:]
        var holdTimeout: TimeAmount?
        var watchdog: RepeatedTask?

        mutating func lend(_ connection: PostgresConnection) {
            leased[ObjectIdentifier(connection)] = (connection, .now())
        }
    }

    /// What the pool holds right now (for `/metrics` and tests).
    public struct Snapshot: Sendable, Equatable {
        public var idle: Int
        public var leased: Int
        public var opening: Int
        public var waiting: Int
        public var reachable: Bool
    }

    private let state = NIOLockedValueBox(State())
    private let configuration: PostgresConnection.Configuration
    let options: Options
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup

    public init(configuration: PostgresConnection.Configuration, options: Options, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        var configuration = configuration
        configuration.options.connectTimeout = options.connectTimeout
        configuration.options.additionalStartupParameters.append(("application_name", options.applicationName))
        self.configuration = configuration
        self.options = options
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    public var snapshot: Snapshot {
        state.withLockedValue { s in
            Snapshot(idle: s.idle.count, leased: s.open - s.idle.count - s.opening, opening: s.opening,
                     waiting: s.waiters.count, reachable: s.unreachable == nil)
        }
    }

    // MARK: Leasing

    private enum LeaseDecision {
        case use(PostgresConnection)
        case fail(DatabaseUnavailable)
        case wait(connect: Bool)
    }

    /// A connection for the caller's exclusive use until `release`; completes on `eventLoop`.
    func lease(on eventLoop: any EventLoop) -> EventLoopFuture<PostgresConnection> {
        let promise = eventLoop.makePromise(of: PostgresConnection.self)
        let decision = state.withLockedValue { s -> LeaseDecision in
            if s.shutDown { return .fail(DatabaseUnavailable(reason: .shutDown, detail: "the pool is shut down")) }
            while !s.idle.isEmpty {
                // The most recently used connection on the caller's loop, else the most recent one.
                let index = s.idle.lastIndex { $0.eventLoop === eventLoop } ?? s.idle.count - 1
                let connection = s.idle.remove(at: index)
                if connection.isClosed {
                    s.open -= 1
                    continue
                }
                s.lend(connection)
                return .use(connection)
            }
            if let error = s.unreachable {
                // Known down: one request at a time probes the server, the others are answered now.
                guard s.opening == 0, s.open < options.maxConnections else {
                    return .fail(DatabaseUnavailable(reason: .unreachable, detail: error))
                }
                s.open += 1
                s.opening += 1
                s.waiters.append(Waiter(id: s.nextWaiterID, promise: promise, timeout: nil))
                s.nextWaiterID += 1
                return .wait(connect: true)
            }
            var connect = false
            if s.open < options.maxConnections {
                s.open += 1
                s.opening += 1
                connect = true
            }
            let id = s.nextWaiterID
            s.nextWaiterID += 1
            let timeout = eventLoop.scheduleTask(in: options.leaseTimeout) { [weak self] () -> Void in
                guard let self else { return }
                self.timedOut(waiter: id)
            }
            s.waiters.append(Waiter(id: id, promise: promise, timeout: timeout))
            return .wait(connect: connect)
        }
        switch decision {
        case .use(let connection):
            promise.succeed(connection)
        case .fail(let error):
            promise.fail(error)
        case .wait(let connect):
            if connect { open(on: eventLoop) }
        }
        return promise.futureResult
    }

    /// Gives a leased connection back. `reusable` is false when the work on it failed at the
    /// connection level (or left it in an unknown state): it is closed instead of kept.
    func release(_ connection: PostgresConnection, reusable: Bool) {
        enum Action {
            case keep
            case handOver(Waiter)
            case close(openAnother: (any EventLoop)?)
        }
        var recovered = false
        let action = state.withLockedValue { s -> Action in
            s.leased[ObjectIdentifier(connection)] = nil
            if s.shutDown {
                s.open -= 1
                return .close(openAnother: nil)
            }
            guard reusable, !connection.isClosed else {
                s.open -= 1
                // Someone waits for the slot this connection held: open a fresh one for them.
                if let first = s.waiters.first, s.unreachable == nil, s.open < options.maxConnections {
                    s.open += 1
                    s.opening += 1
                    return .close(openAnother: first.promise.futureResult.eventLoop)
                }
                return .close(openAnother: nil)
            }
            // A connection that just worked: the server is reachable.
            recovered = s.unreachable != nil
            s.unreachable = nil
            if !s.waiters.isEmpty {
                s.lend(connection)
                return .handOver(s.waiters.removeFirst())
            }
            s.idle.append(connection)
            return .keep
        }
        if recovered { logger.notice("PostgreSQL reachable again") }
        switch action {
        case .keep:
            break
        case .handOver(let waiter):
            waiter.timeout?.cancel()
            waiter.promise.succeed(connection)
        case .close(let another):
            if !connection.isClosed { Self.close(connection) }
            if let another { open(on: another) }
        }
    }

    private func timedOut(waiter id: Int) {
        let waiter = state.withLockedValue { s -> Waiter? in
            guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: index)
        }
        waiter?.promise.fail(DatabaseUnavailable(
            reason: .exhausted, detail: "no connection became free within \(options.leaseTimeout.nanoseconds / 1_000_000_000) s"))
    }

    // MARK: Opening connections

    private func open(on eventLoop: any EventLoop) {
        let id = state.withLockedValue { s in
            s.nextConnectionID += 1
            return s.nextConnectionID
        }
        let searchPath = options.searchPath
        PostgresConnection.connect(on: eventLoop, configuration: configuration, id: id, logger: logger)
            .flatMap { connection -> EventLoopFuture<PostgresConnection> in
                guard let searchPath else { return eventLoop.makeSucceededFuture(connection) }
                let query = PostgresQuery(unsafeSQL: "SET search_path TO " + searchPath.map(Self.quoteIdentifier).joined(separator: ","))
                return connection.query(query, logger: self.logger).map { _ in connection }.flatMapError { error in
                    Self.close(connection).flatMapThrowing { throw error }
                }
            }
            .whenComplete { result in
                switch result {
                case .success(let connection): self.opened(connection)
                case .failure(let error): self.openFailed(error)
                }
            }
    }

    private func opened(_ connection: PostgresConnection) {
        enum Action { case keep, handOver(Waiter), close }
        let (action, recovered) = state.withLockedValue { s -> (Action, Bool) in
            s.opening -= 1
            if s.shutDown {
                s.open -= 1
                return (.close, false)
            }
            let recovered = s.unreachable != nil
            s.unreachable = nil
            if !s.waiters.isEmpty {
                s.lend(connection)
                return (.handOver(s.waiters.removeFirst()), recovered)
            }
            s.idle.append(connection)
            return (.keep, recovered)
        }
        if recovered { logger.notice("PostgreSQL reachable again") }
        switch action {
        case .keep: break
        case .handOver(let waiter):
            waiter.timeout?.cancel()
            waiter.promise.succeed(connection)
        case .close:
            Self.close(connection)
        }
    }

    private func openFailed(_ error: any Error) {
        let detail = Self.describe(error)
        let (waiters, wasReachable) = state.withLockedValue { s -> ([Waiter], Bool) in
            s.opening -= 1
            s.open -= 1
            let wasReachable = s.unreachable == nil
            s.unreachable = detail
            let waiters = s.waiters
            s.waiters = []
            return (waiters, wasReachable)
        }
        if wasReachable {
            logger.warning("PostgreSQL unreachable: answering 503 until a connection opens again", metadata: ["error": "\(detail)"])
        }
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.promise.fail(DatabaseUnavailable(reason: .unreachable, detail: detail))
        }
    }

    // MARK: Hold watchdog

    /// Closes any connection leased for longer than `timeout` (nil turns the watchdog off): the
    /// statement waiting on it fails (503) instead of waiting for ever on a server that hangs or a
    /// network that went silent. `serve` sets it from `DATABASE_HOLD_TIMEOUT`; commands, whose
    /// long transactions are expected, leave it off.
    public func setHoldTimeout(_ timeout: TimeAmount?) {
        let (old, start) = state.withLockedValue { s -> (RepeatedTask?, Bool) in
            s.holdTimeout = timeout
            let old = s.watchdog
            s.watchdog = nil
            return (old, timeout != nil && !s.shutDown)
        }
        old?.cancel()
        guard start else { return }
        let task = eventLoopGroup.any().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.closeOverdue()
        }
        state.withLockedValue { $0.watchdog = task }
    }

    private func closeOverdue() {
        let now = NIODeadline.now()
        let overdue = state.withLockedValue { s -> [PostgresConnection] in
            guard let timeout = s.holdTimeout else { return [] }
            let late = s.leased.filter { now - $0.value.since > timeout }
            for key in late.keys { s.leased[key] = nil }
            return late.values.map(\.connection)
        }
        for connection in overdue {
            logger.warning("closing a PostgreSQL connection held past DATABASE_HOLD_TIMEOUT (server hung or network silent?)")
            Self.close(connection)
        }
    }

    // MARK: Shutdown

    /// Fails every waiter and closes the idle connections; leased ones close when they come back.
    public func shutdown() async {
        let (idle, waiters, watchdog) = state.withLockedValue { s -> ([PostgresConnection], [Waiter], RepeatedTask?) in
            s.shutDown = true
            let watchdog = s.watchdog
            s.watchdog = nil
            let idle = s.idle
            let waiters = s.waiters
            s.open -= idle.count
            s.idle = []
            s.waiters = []
            return (idle, waiters, watchdog)
        }
        watchdog?.cancel()
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.promise.fail(DatabaseUnavailable(reason: .shutDown, detail: "the pool is shut down"))
        }
        for connection in idle { try? await Self.close(connection).get() }
    }

    // MARK: Helpers

    /// Errors that mean the connection (not the statement) failed: the connection is not reused.
    static func isConnectionLevel(_ error: any Error) -> Bool {
        switch error {
        case is DatabaseUnavailable, is ChannelError, is IOError:
            return true
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                 .messageDecodingFailure, .unexpectedBackendMessage, .queryCancelled:
                return true
            case .server:
                // 08: connection exception, 57P: operator intervention (terminated, shutting down).
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state.hasPrefix("57P")
            default:
                return false
            }
        default:
            return false
        }
    }

    /// A line for the log: the SQLSTATE and message for a server error, else the error itself.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "\(error.serverInfo?[.sqlState] ?? "?") \(message)"
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// Closes a connection (PostgresNIO has two `close()`; this is the one with a future).
    @discardableResult
    static func close(_ connection: PostgresConnection) -> EventLoopFuture<Void> {
        let closed: EventLoopFuture<Void> = connection.close()
        return closed
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
