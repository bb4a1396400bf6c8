import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Everything that can go wrong talking to Redis.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis can't be reached (connect failed, still backing off after a failure, or the client was shut down).
    case unavailable
    /// No reply within the command timeout; the connection was closed.
    case timeout
    /// The connection closed before the reply arrived.
    case connectionClosed
    /// Redis (or whatever answered) sent bytes that are not valid RESP2.
    case protocolError(String)
    /// Redis answered with an error reply, e.g. `WRONGTYPE …` or `WRONGPASS …`.
    case server(String)
    /// Too many commands are waiting for replies on one connection.
    case overloaded
    /// The Redis URL can't be used.
    case invalidURL(String)

    public var description: String {
        switch self {
        case .unavailable: return "Redis is unavailable"
        case .timeout: return "Redis command timed out"
        case .connectionClosed: return "Redis connection closed before the reply"
        case .protocolError(let detail): return "Redis protocol error: \(detail)"
        case .server(let message): return "Redis error reply: \(message)"
        case .overloaded: return "Redis connection overloaded: too many pending commands"
        case .invalidURL(let detail): return "invalid Redis URL: \(detail)"
        }
    }
}

/// Where and how to connect, parsed from `redis://[[user]:password@]host[:port][/db]`.
public struct RedisConfiguration: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses a Redis URL. Error messages never echo the URL, since it may hold a password.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw RedisError.invalidURL("not a URL")
        }
        guard scheme != "rediss" else { throw RedisError.invalidURL("TLS (rediss://) is not supported") }
        guard scheme == "redis" else {
            throw RedisError.invalidURL("unsupported scheme '\(scheme)', expected redis://")
        }
        guard var host = components.host, !host.isEmpty else { throw RedisError.invalidURL("missing host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }  // IPv6 literal
        let port = components.port ?? 6379
        guard (1...65535).contains(port) else { throw RedisError.invalidURL("port out of range") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard let database = path.isEmpty ? 0 : Int(path), database >= 0 else {
            throw RedisError.invalidURL("database must be a non-negative integer")
        }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 }
        let username = components.user.flatMap { $0.isEmpty ? nil : $0 }
        guard username == nil || password != nil else { throw RedisError.invalidURL("username given without password") }
        self.init(host: host, port: port, username: username, password: password, database: database)
    }

    public var debugDescription: String { description }

    /// Safe to log: the password is never included.
    public var description: String {
        let auth = password == nil ? "" : "\(username ?? ""):***@"
        return "redis://\(auth)\(host):\(port)/\(database)"
    }
}

/// A pooled, pipelining Redis client; safe to share across requests and tasks.
///
/// Connections (up to `poolSize`) open lazily and are used round-robin; a dead one is replaced on next use.
/// After a failed connect, Redis counts as down: commands fail at once with `.unavailable`, and a reconnect is
/// tried in the background at most every 250 ms, backing off to 2 s, until one succeeds.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let connectTimeout: TimeAmount
    private let commandTimeout: TimeAmount
    private let maxPendingCommands: Int
    private let state: NIOLockedValueBox<PoolState>

    private static let initialBackoff = TimeAmount.milliseconds(250)
    private static let maxBackoff = TimeAmount.seconds(2)

    private enum Slot {
        case empty
        case connecting(Task<RedisConnection, any Error>)
        case ready(RedisConnection)
    }

    private struct PoolState {
        var slots: [Slot]
        var next = 0
        /// While set and in the future, we don't try to connect: Redis just failed, so fail fast, adding no latency.
        var retryAt: NIODeadline?
        var backoff = RedisClient.initialBackoff
        var isDown = false  // only for logging transitions, not every failed attempt
        var isShutdown = false
    }

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        poolSize: Int = 4,
        connectTimeout: TimeAmount = .seconds(1),
        commandTimeout: TimeAmount = .seconds(1),
        maxPendingCommands: Int = 10_000
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxPendingCommands = maxPendingCommands
        self.state = NIOLockedValueBox(PoolState(slots: Array(repeating: .empty, count: max(1, poolSize))))
    }

    /// Convenience: parses `url` (see `RedisConfiguration.init(url:)`).
    public convenience init(
        url: String, eventLoopGroup: any EventLoopGroup, logger: Logger, poolSize: Int = 4,
        connectTimeout: TimeAmount = .seconds(1), commandTimeout: TimeAmount = .seconds(1)
    ) throws {
        self.init(
            configuration: try RedisConfiguration(url: url), eventLoopGroup: eventLoopGroup, logger: logger,
            poolSize: poolSize, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
    }

    /// Sends one command; an error reply is thrown as `RedisError.server`.
    public func send(_ arguments: [String]) async throws -> RESPValue {
        guard !arguments.isEmpty else { throw RedisError.protocolError("empty command") }
        var buffer = ByteBuffer()
        RESPEncoder.encode(arguments, into: &buffer)
        return try Self.throwingServerError(await execute(buffer, count: 1))
    }

    /// Sends one command with binary arguments; an error reply is thrown as `RedisError.server`.
    public func send(bytes arguments: [[UInt8]]) async throws -> RESPValue {
        guard !arguments.isEmpty else { throw RedisError.protocolError("empty command") }
        var buffer = ByteBuffer()
        RESPEncoder.encode(bytes: arguments, into: &buffer)
        return try Self.throwingServerError(await execute(buffer, count: 1))
    }

    /// Sends all commands in one write on one connection; error replies come back as `.error` elements, in order.
    public func pipeline(_ commands: [[String]]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        // Redis silently ignores an empty command, which would leave our reply queue out of step.
        guard commands.allSatisfy({ !$0.isEmpty }) else { throw RedisError.protocolError("empty command") }
        var buffer = ByteBuffer()
        for command in commands { RESPEncoder.encode(command, into: &buffer) }
        return try await execute(buffer, count: commands.count)
    }

    /// Whether Redis answers PING right now.
    public func ping() async -> Bool {
        (try? await send(["PING"])) == .simpleString("PONG")
    }

    /// Closes every connection; later commands fail with `.unavailable`. Doesn't shut down the event loop group.
    public func shutdown() async {
        typealias Open = (connections: [RedisConnection], tasks: [Task<RedisConnection, any Error>])
        let (connections, tasks) = state.withLockedValue { state -> Open in
            state.isShutdown = true
            var connections: [RedisConnection] = []
            var tasks: [Task<RedisConnection, any Error>] = []
            for slot in state.slots {
                switch slot {
                case .ready(let connection): connections.append(connection)
                case .connecting(let task): tasks.append(task)
                case .empty: break
                }
            }
            state.slots = state.slots.map { _ in .empty }
            return (connections, tasks)
        }
        for task in tasks { _ = try? await task.value }  // a connect finishing now sees isShutdown and closes itself
        for connection in connections { await connection.close() }
    }

    private static func throwingServerError(_ replies: [RESPValue]) throws -> RESPValue {
        guard replies.count == 1, let reply = replies.first else {
            throw RedisError.protocolError("reply count mismatch")
        }
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// A request that was never written (its connection turned out dead) is retried once; one that was written is
    /// never retried, since it may have run (INCR twice would be wrong).
    private func execute(_ buffer: ByteBuffer, count: Int) async throws -> [RESPValue] {
        do {
            return try await connection().execute(buffer, count: count)
        } catch is RedisNotSentError {
            do {
                return try await connection().execute(buffer, count: count)
            } catch is RedisNotSentError {
                throw RedisError.connectionClosed
            }
        }
    }

    /// Round-robin over the pool, connecting lazily; a dead connection is replaced here.
    private func connection() async throws -> RedisConnection {
        enum Next {
            case use(RedisConnection)
            case wait(Task<RedisConnection, any Error>)
            case fail(RedisError)
        }
        let next = state.withLockedValue { state -> Next in
            guard !state.isShutdown else { return .fail(.unavailable) }
            let index = state.next
            state.next = (state.next + 1) % state.slots.count
            switch state.slots[index] {
            case .ready(let connection) where connection.isActive:
                return .use(connection)
            case .connecting(let task):
                return state.isDown ? .fail(.unavailable) : .wait(task)
            case .ready, .empty:
                if let retryAt = state.retryAt, NIODeadline.now() < retryAt {
                    state.slots[index] = .empty
                    return .fail(.unavailable)
                }
                let task = Task { try await self.connect(slot: index) }
                state.slots[index] = .connecting(task)
                // While Redis is down, reconnecting is a background probe: callers don't wait out a connect timeout.
                return state.isDown ? .fail(.unavailable) : .wait(task)
            }
        }
        switch next {
        case .use(let connection): return connection
        case .wait(let task): return try await task.value
        case .fail(let error): throw error
        }
    }

    private func connect(slot: Int) async throws -> RedisConnection {
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(
                configuration, group: group, connectTimeout: connectTimeout,
                commandTimeout: commandTimeout, maxPendingCommands: maxPendingCommands)
        } catch {
            let wasUp = state.withLockedValue { state -> Bool in
                state.slots[slot] = .empty
                state.retryAt = .now() + state.backoff
                state.backoff = min(state.backoff * 2, Self.maxBackoff)
                defer { state.isDown = true }
                return !state.isDown
            }
            let metadata: Logger.Metadata = ["redis": "\(configuration)", "error": "\(error)"]
            if wasUp {
                logger.warning("Redis connect failed; failing fast until a retry succeeds", metadata: metadata)
            } else {
                logger.debug("Redis connect failed again", metadata: metadata)
            }
            // Server replies (e.g. WRONGPASS) are worth passing on; anything network-level means "unavailable".
            if let error = error as? RedisError, case .server = error { throw error }
            throw RedisError.unavailable
        }
        let (isShutdown, wasDown) = state.withLockedValue { state -> (Bool, Bool) in
            guard !state.isShutdown else { return (true, false) }
            state.slots[slot] = .ready(connection)
            state.retryAt = nil
            state.backoff = Self.initialBackoff
            defer { state.isDown = false }
            return (false, state.isDown)
        }
        if isShutdown {
            await connection.close()
            throw RedisError.unavailable
        }
        if wasDown {
            logger.info("Redis reachable again", metadata: ["redis": "\(configuration)"])
        } else {
            logger.debug("Redis connected", metadata: ["redis": "\(configuration)"])
        }
        return connection
    }
}

/// The command never reached the socket, so retrying it elsewhere can't run it twice.
struct RedisNotSentError: Error {}

/// One TCP connection with its pipeline of pending replies.
final class RedisConnection: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    var isActive: Bool { channel.isActive }

    static func connect(
        _ configuration: RedisConfiguration, group: any EventLoopGroup, connectTimeout: TimeAmount,
        commandTimeout: TimeAmount, maxPendingCommands: Int
    ) async throws -> RedisConnection {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RedisConnectionHandler(commandTimeout: commandTimeout, maxPendingCommands: maxPendingCommands))
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .get()
        let connection = RedisConnection(channel: channel)
        var handshake: [[String]] = []
        if let password = configuration.password {
            handshake.append(["AUTH"] + (configuration.username.map { [$0] } ?? []) + [password])
        }
        if configuration.database != 0 { handshake.append(["SELECT", String(configuration.database)]) }
        guard !handshake.isEmpty else { return connection }
        do {
            var buffer = ByteBuffer()
            for command in handshake { RESPEncoder.encode(command, into: &buffer) }
            for reply in try await connection.execute(buffer, count: handshake.count) {
                if case .error(let message) = reply { throw RedisError.server(message) }
            }
            return connection
        } catch {
            await connection.close()
            throw error is RedisNotSentError ? RedisError.connectionClosed : error
        }
    }

    func execute(_ buffer: ByteBuffer, count: Int) async throws -> [RESPValue] {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        // The handler completes the write promise as soon as it queues the request; a failure means it never did
        // (closed channel, overload), so this is the only place the reply promise fails in that case.
        channel.writeAndFlush(RedisRequest(bytes: buffer, count: count, replies: promise)).whenFailure { error in
            promise.fail(error is RedisError ? error : RedisNotSentError())
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// Encoded commands plus the promise for their `count` replies.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    var count: Int
    var replies: EventLoopPromise<[RESPValue]>
}

/// Writes requests and matches replies to them in FIFO order; any failure poisons and closes the connection,
/// because once a reply is lost or garbled, later replies can't be matched to their commands.
final class RedisConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var replies: [RESPValue]
        let count: Int
        let promise: EventLoopPromise<[RESPValue]>
        let deadline: NIODeadline
    }

    private let commandTimeout: TimeAmount
    private let maxPendingCommands: Int
    private var pending = CircularBuffer<Pending>()
    private var pendingCommands = 0
    private var parser = RESPParser()
    private var inbound: ByteBuffer?
    private var failure: RedisError?
    private var timer: Scheduled<Void>?

    init(commandTimeout: TimeAmount, maxPendingCommands: Int) {
        self.commandTimeout = commandTimeout
        self.maxPendingCommands = maxPendingCommands
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if failure != nil {
            promise?.fail(RedisNotSentError())
            return
        }
        guard pendingCommands + request.count <= maxPendingCommands else {
            promise?.fail(RedisError.overloaded)
            return
        }
        let deadline = context.eventLoop.now + commandTimeout
        pending.append(Pending(replies: [], count: request.count, promise: request.replies, deadline: deadline))
        pendingCommands += request.count
        promise?.succeed(())
        // No write promise: a socket error closes the channel, and channelInactive fails everything pending.
        context.write(wrapOutboundOut(request.bytes), promise: nil)
        armTimer(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        var buffer = unwrapInboundIn(data)
        if var existing = inbound {
            inbound = nil  // keep `existing` uniquely referenced so appending doesn't copy
            existing.writeBuffer(&buffer)
            buffer = existing
        }
        do {
            while let reply = try parser.next(&buffer) {
                guard let head = pending.indices.first else {
                    throw RedisError.protocolError("reply without a pending command")
                }
                pending[head].replies.append(reply)
                pendingCommands -= 1
                if pending[head].replies.count == pending[head].count {
                    let done = pending.removeFirst()
                    done.promise.succeed(done.replies)
                }
            }
        } catch {
            return fail(error as? RedisError ?? .protocolError("\(error)"), context: context)
        }
        if buffer.readableBytes > 0 {
            if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
            inbound = buffer
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error as? RedisError ?? .connectionClosed, context: context)
    }

    /// One timer per connection, at the oldest command's deadline: replies come in order, so if the oldest is late,
    /// the connection is stuck; cheaper than a timer per command.
    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, failure == nil, let deadline = pending.first?.deadline else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            guard let oldest = self.pending.first?.deadline else { return }
            if oldest <= context.eventLoop.now {
                self.fail(.timeout, context: context)
            } else {
                self.armTimer(context: context)
            }
        }
    }

    private func fail(_ error: RedisError, context: ChannelHandlerContext) {
        guard failure == nil else { return }
        failure = error
        timer?.cancel()
        timer = nil
        inbound = nil
        pendingCommands = 0
        while let request = pending.popFirst() { request.promise.fail(error) }
        context.close(promise: nil)
    }
}
