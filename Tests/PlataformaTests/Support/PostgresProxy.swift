import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP proxy on 127.0.0.1 in front of the test PostgreSQL server, to play the server's faults:
/// refused connections (stopped), a server that accepts and never answers (hung), one that
/// answers `the database system is starting up` (restarting), and connections cut under load
/// (a crash, a failover, `pg_terminate_backend`).
final class PostgresProxy: Sendable {
    enum Mode: Sendable {
        /// Bytes flow both ways to the real server.
        case forward
        /// Not listening: connection attempts are refused.
        case refuse
        /// Accepts and reads, never answers.
        case hang
        /// Answers the start-up message with FATAL 57P03, as PostgreSQL does during recovery.
        case startingUp
        /// Connections stay open but nothing flows either way, new ones too: a hung server or a
        /// network that went silent.
        case freeze
    }

    private struct State {
        var mode: Mode = .forward
        var listener: (any Channel)?
        var port = 0
        var connections: [any Channel] = []
    }

    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let state = NIOLockedValueBox(State())
    let targetHost: String
    let targetPort: Int

    init(targetHost: String, targetPort: Int) {
        self.targetHost = targetHost
        self.targetPort = targetPort
    }

    /// A proxy in front of the server that `url` names; returns it and `url` rewritten to go through it.
    static func start(for url: String) async throws -> (PostgresProxy, String) {
        guard var components = URLComponents(string: url), let host = components.host else { throw ChannelError.unknownLocalAddress }
        let proxy = PostgresProxy(targetHost: host, targetPort: components.port ?? 5432)
        components.host = "127.0.0.1"
        components.port = try await proxy.listen(port: 0)
        return (proxy, components.string ?? url)
    }

    var port: Int { state.withLockedValue { $0.port } }

    var isFrozen: Bool { state.withLockedValue { $0.mode == .freeze } }

    /// Switches behaviour. `.refuse` closes the listening socket; leaving it listens again on the same port.
    func set(_ mode: Mode) async throws {
        let (listener, port) = state.withLockedValue { s -> ((any Channel)?, Int) in
            s.mode = mode
            if mode == .refuse {
                let listener = s.listener
                s.listener = nil
                return (listener, s.port)
            }
            return (nil, s.port)
        }
        if let listener { try? await listener.close() }
        if mode != .refuse, state.withLockedValue({ $0.listener == nil }) { _ = try await listen(port: port) }
    }

    /// Closes every connection through the proxy, both sides: what the clients see when the server dies.
    func cutAll() async {
        let connections = state.withLockedValue { s -> [any Channel] in
            let all = s.connections
            s.connections = []
            return all
        }
        for connection in connections { try? await connection.close() }
    }

    func stop() async {
        try? await set(.refuse)
        await cutAll()
    }

    private func listen(port: Int) async throws -> Int {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                self.accepted(inbound)
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        let bound = listener.localAddress?.port ?? port
        state.withLockedValue { s in
            s.listener = listener
            s.port = bound
        }
        return bound
    }

    private func track(_ channel: any Channel) {
        state.withLockedValue { $0.connections.append(channel) }
    }

    private func accepted(_ inbound: any Channel) -> EventLoopFuture<Void> {
        track(inbound)
        switch state.withLockedValue({ $0.mode }) {
        case .forward:
            // Reads wait until the server side is connected.
            _ = inbound.setOption(.autoRead, value: false)
            return ClientBootstrap(group: inbound.eventLoop)
                .connect(host: targetHost, port: targetPort)
                .flatMap { outbound in
                    self.track(outbound)
                    return inbound.eventLoop.makeCompletedFuture {
                        try inbound.pipeline.syncOperations.addHandler(Relay(peer: outbound, proxy: self))
                        try outbound.pipeline.syncOperations.addHandler(Relay(peer: inbound, proxy: self))
                    }.flatMap { inbound.setOption(.autoRead, value: true) }
                }
                .flatMapError { _ in inbound.close() }
        case .refuse:
            return inbound.close()
        case .hang, .freeze:
            return inbound.eventLoop.makeSucceededVoidFuture()
        case .startingUp:
            return inbound.eventLoop.makeCompletedFuture {
                try inbound.pipeline.syncOperations.addHandler(StartingUp())
            }
        }
    }
}

/// Writes what one side reads to the other (nothing while the proxy is frozen); a close on either
/// side closes both.
private final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let peer: any Channel
    let proxy: PostgresProxy

    init(peer: any Channel, proxy: PostgresProxy) {
        self.peer = peer
        self.proxy = proxy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !proxy.isFrozen else { return }
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// PostgreSQL during crash recovery: `N` to an SSL request, then FATAL 57P03 to the start-up message.
private final class StartingUp: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        // An SSLRequest is 8 bytes: length 8, code 80877103.
        if bytes.readableBytes == 8, bytes.getInteger(at: bytes.readerIndex + 4, as: UInt32.self) == 80_877_103 {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "N")), promise: nil)
            return
        }
        bytes.clear()
        var fields = ByteBuffer()
        for (code, value) in [("S", "FATAL"), ("V", "FATAL"), ("C", "57P03"), ("M", "the database system is starting up")] {
            fields.writeString(code)
            fields.writeString(value)
            fields.writeInteger(UInt8(0))
        }
        fields.writeInteger(UInt8(0))
        var message = ByteBuffer()
        message.writeString("E")
        message.writeInteger(UInt32(4 + fields.readableBytes))
        message.writeBuffer(&fields)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(message)).whenComplete { _ in channel.close(promise: nil) }
    }
}
