// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {PermitSignature, PermitLib} from "./PermitSignature.sol";

interface IProofRecords {
    function lastProvedEpoch(address node) external view returns (uint64 epoch, bool proved);
}

/// @title Registry, the record keeper of storage nodes
/// @notice A node registers its libp2p peer ID and multiaddrs from its EVM account with a stake of at least
/// `minStake`, publishes its capacity and price per byte per epoch, and may unbond (leave) after `unbondingDelay`
/// seconds once it holds no slot. The Market slashes stake for missed proofs and jails a node whose stake falls
/// below the minimum or that lost a slot. This contract holds all stake: its token balance equals `totalStaked`.
/// It also checks a node's consent to a slot for the Market: an EIP-712 `SlotAcceptance` (domain "Cairn Registry",
/// version 1, this chain and contract) signed by the node's account, used at most once.
contract Registry is ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.AddressSet;

    enum Status {
        None,
        Active,
        Jailed,
        Unbonding,
        Exited
    }

    struct Node {
        uint256 stake;
        uint128 pricePerByteEpoch;
        uint64 capacity;
        uint64 unbondAt;
        Status status;
        uint32 activeSlots;
        uint32 missedProofs;
        bytes peerId;
        string[] multiaddrs;
    }

    struct NodeView {
        address account;
        Status status;
        uint256 stake;
        uint128 pricePerByteEpoch;
        uint64 capacity;
        uint64 unbondAt;
        uint32 activeSlots;
        uint32 missedProofs;
        uint64 lastProvedEpoch;
        bool hasProved;
        bytes peerId;
        string[] multiaddrs;
    }

    /// @notice EIP-712 type a node signs to consent to one slot (`SlotTerms` is hashed by the Market).
    bytes32 public constant SLOT_ACCEPTANCE_TYPEHASH = keccak256(
        "SlotAcceptance(address node,SlotTerms terms,uint256 nonce,uint64 expiry)SlotTerms(address market,"
        "address client,bytes32 manifestCidHash,uint8 slotIndex,bytes32 root,uint64 size,uint128 maxPricePerByteEpoch,"
        "uint32 durationEpochs)"
    );

    uint256 public constant MAX_MULTIADDRS = 8;
    uint256 public constant MAX_MULTIADDR_LENGTH = 256;
    uint256 public constant MAX_PEER_ID_LENGTH = 128;

    IERC20 public immutable token;
    uint256 public immutable minStake;
    uint64 public immutable unbondingDelay;
    address public market;
    uint256 public totalStaked;
    address private immutable _deployer;

    mapping(address => Node) private _nodes;
    /// @dev Operator of a node once both sides agreed (zero: the node is its own operator).
    mapping(address => address) private _operators;
    /// @dev Operator a node named and that has not accepted yet.
    mapping(address => address) private _proposedOperators;
    EnumerableSet.AddressSet private _active;
    /// @notice EIP-712 digests of the slot acceptances already used (each opens one slot).
    mapping(bytes32 => bool) public acceptanceUsed;

    event MarketSet(address indexed market);
    event NodeRegistered(address indexed node, bytes peerId, uint256 stake, uint64 capacity, uint128 pricePerByteEpoch);
    event EndpointsUpdated(address indexed node, bytes peerId, string[] multiaddrs);
    event OfferUpdated(address indexed node, uint64 capacity, uint128 pricePerByteEpoch);
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);
    event StakeSlashed(address indexed node, uint256 amount, uint256 stake);
    event NodeJailed(address indexed node);
    event NodeUnjailed(address indexed node);
    event UnbondingStarted(address indexed node, uint64 unbondAt);
    event StakeWithdrawn(address indexed node, uint256 amount);
    event OperatorProposed(address indexed node, address indexed operator);
    event OperatorSet(address indexed node, address indexed operator);

    error NotDeployer(address caller);
    error NotMarket(address caller);
    error MarketAlreadySet(address market);
    error AlreadyRegistered(address node);
    error NotRegistered(address node);
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    error ZeroAmount();
    error InvalidPeerId(uint256 length);
    error TooManyMultiaddrs(uint256 count, uint256 max);
    error MultiaddrTooLong(uint256 index, uint256 length, uint256 max);
    error WrongStatus(address node, Status status);
    error UnbondingNotDue(uint64 unbondAt, uint256 now_);
    error SlotsStillHeld(address node, uint32 slots);
    error OperatorNotProposed(address node, address operator);
    /// @notice Slot `slot`'s acceptance is not `node`'s signature of these terms, has expired, or was already used.
    error SlotNotAccepted(address node, uint256 slot, string reason);

    constructor(IERC20 token_, uint256 minStake_, uint64 unbondingDelay_) EIP712("Cairn Registry", "1") {
        token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        _deployer = msg.sender;
    }

    modifier onlyMarket() {
        if (msg.sender != market) revert NotMarket(msg.sender);
        _;
    }

    /// @notice Names the Market allowed to slash and to count slots. Callable once, by the deployer.
    function setMarket(address market_) external {
        if (msg.sender != _deployer) revert NotDeployer(msg.sender);
        if (market != address(0)) revert MarketAlreadySet(market);
        market = market_;
        emit MarketSet(market_);
    }

    // ---------------------------------------------------------------- node calls

    /// @notice Registers the caller as a storage node, pulling `amount` (at least `minStake`) of stake.
    function register(
        bytes calldata peerId,
        string[] calldata multiaddrs,
        uint64 capacity,
        uint128 pricePerByteEpoch,
        uint256 amount
    ) external nonReentrant {
        _register(peerId, multiaddrs, capacity, pricePerByteEpoch, amount);
    }

    /// @notice `register` with an EIP-2612 permit for the stake: approve and stake in one transaction.
    function registerWithPermit(
        bytes calldata peerId,
        string[] calldata multiaddrs,
        uint64 capacity,
        uint128 pricePerByteEpoch,
        uint256 amount,
        PermitSignature calldata permit
    ) external nonReentrant {
        PermitLib.apply_(address(token), msg.sender, address(this), permit);
        _register(peerId, multiaddrs, capacity, pricePerByteEpoch, amount);
    }

    /// @notice Adds stake; a jailed node can then `unjail`.
    function addStake(uint256 amount) external nonReentrant {
        _addStake(amount);
    }

    /// @notice `addStake` with an EIP-2612 permit.
    function addStakeWithPermit(uint256 amount, PermitSignature calldata permit) external nonReentrant {
        PermitLib.apply_(address(token), msg.sender, address(this), permit);
        _addStake(amount);
    }

    /// @notice Replaces the caller's peer ID and multiaddrs.
    function updateEndpoints(bytes calldata peerId, string[] calldata multiaddrs) external {
        Node storage n = _registered(msg.sender);
        _checkEndpoints(peerId, multiaddrs);
        n.peerId = peerId;
        _setMultiaddrs(n, multiaddrs);
        emit EndpointsUpdated(msg.sender, peerId, multiaddrs);
    }

    /// @notice Replaces the caller's advertised capacity (bytes) and price (token units per byte per epoch).
    function updateOffer(uint64 capacity, uint128 pricePerByteEpoch) external {
        Node storage n = _registered(msg.sender);
        n.capacity = capacity;
        n.pricePerByteEpoch = pricePerByteEpoch;
        emit OfferUpdated(msg.sender, capacity, pricePerByteEpoch);
    }

    /// @notice The caller (a node) names the account that operates it; it takes effect once that account calls
    /// `acceptNode`. Naming itself (or zero) makes the node its own operator at once. The Market refuses two slots of
    /// one deal to nodes of one operator: an operator running several nodes declares them, so clients spread a file
    /// over operators (a Sybil that does not declare is met by random placement and per-/24 spreading instead).
    function setOperator(address operator) external {
        _registered(msg.sender);
        if (operator == address(0) || operator == msg.sender) {
            delete _proposedOperators[msg.sender];
            delete _operators[msg.sender];
            emit OperatorSet(msg.sender, msg.sender);
            return;
        }
        _proposedOperators[msg.sender] = operator;
        emit OperatorProposed(msg.sender, operator);
    }

    /// @notice The caller accepts to be the operator of `node`, which named it with `setOperator`.
    function acceptNode(address node) external {
        if (_proposedOperators[node] != msg.sender) revert OperatorNotProposed(node, msg.sender);
        delete _proposedOperators[node];
        _operators[node] = msg.sender;
        emit OperatorSet(node, msg.sender);
    }

    /// @notice Returns a jailed node to service; its stake must be at least `minStake`.
    function unjail() external {
        Node storage n = _registered(msg.sender);
        if (n.status != Status.Jailed) revert WrongStatus(msg.sender, n.status);
        if (n.stake < minStake) revert StakeBelowMinimum(n.stake, minStake);
        n.status = Status.Active;
        _active.add(msg.sender);
        emit NodeUnjailed(msg.sender);
    }

    /// @notice Starts leaving: the node takes no new slot and may withdraw its stake after `unbondingDelay` seconds
    /// once it holds no slot (it must keep proving the slots it holds until their deals end).
    function unbond() external {
        Node storage n = _registered(msg.sender);
        if (n.status != Status.Active && n.status != Status.Jailed) revert WrongStatus(msg.sender, n.status);
        n.status = Status.Unbonding;
        n.unbondAt = uint64(block.timestamp) + unbondingDelay;
        _active.remove(msg.sender);
        emit UnbondingStarted(msg.sender, n.unbondAt);
    }

    /// @notice Pays back the whole remaining stake after the unbonding delay; the node is then exited.
    function withdrawStake() external nonReentrant {
        Node storage n = _registered(msg.sender);
        if (n.status != Status.Unbonding) revert WrongStatus(msg.sender, n.status);
        if (block.timestamp < n.unbondAt) revert UnbondingNotDue(n.unbondAt, block.timestamp);
        if (n.activeSlots != 0) revert SlotsStillHeld(msg.sender, n.activeSlots);
        uint256 amount = n.stake;
        n.stake = 0;
        n.status = Status.Exited;
        totalStaked -= amount;
        emit StakeWithdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- market calls

    /// @notice Moves up to `amount` of `node`'s stake to the Market; jails the node when its stake falls below the
    /// minimum. Returns the amount actually slashed.
    function slash(address node, uint256 amount) external onlyMarket nonReentrant returns (uint256 slashed) {
        Node storage n = _nodes[node];
        slashed = amount < n.stake ? amount : n.stake;
        n.stake -= slashed;
        n.missedProofs += 1;
        totalStaked -= slashed;
        emit StakeSlashed(node, slashed, n.stake);
        if (n.status == Status.Active && n.stake < minStake) _jail(node, n);
        if (slashed > 0) token.safeTransfer(market, slashed);
    }

    /// @notice Jails `node` (it lost a slot after repeated missed proofs).
    function jail(address node) external onlyMarket {
        Node storage n = _nodes[node];
        if (n.status == Status.Active) _jail(node, n);
    }

    /// @notice Counts a slot now held by `node`; returns how many it holds now (the Market caps it).
    function slotTaken(address node) external onlyMarket returns (uint256 held) {
        held = ++_nodes[node].activeSlots;
    }

    /// @notice Checks and consumes `node`'s consent to slot `slot` whose `SlotTerms` hash is `terms`. `acceptance` is
    /// ABI-encoded (uint256 nonce, uint64 expiry, bytes signature): a nonce the node chose, the last second (unix) the
    /// consent is valid, and its EIP-712 signature of `SlotAcceptance(node, terms, nonce, expiry)` (ECDSA, or ERC-1271
    /// for a contract account). Refuses an expired acceptance, one already used, or one not signed by `node`.
    /// Returns the node's status and price (as `offer`).
    function useAcceptance(address node, uint256 slot, bytes32 terms, bytes calldata acceptance)
        external
        onlyMarket
        returns (Status, uint128)
    {
        if (acceptance.length < 128) revert SlotNotAccepted(node, slot, "missing");
        (uint256 nonce, uint64 expiry, bytes memory signature) = abi.decode(acceptance, (uint256, uint64, bytes));
        if (expiry < block.timestamp) revert SlotNotAccepted(node, slot, "expired");
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(SLOT_ACCEPTANCE_TYPEHASH, node, terms, nonce, expiry)));
        if (acceptanceUsed[digest]) revert SlotNotAccepted(node, slot, "already used");
        if (!SignatureChecker.isValidSignatureNow(node, digest, signature)) {
            revert SlotNotAccepted(node, slot, "not signed by the node");
        }
        acceptanceUsed[digest] = true;
        Node storage n = _nodes[node];
        return (n.status, n.pricePerByteEpoch);
    }

    /// @notice Counts a slot no longer held by `node`.
    function slotReleased(address node) external onlyMarket {
        _nodes[node].activeSlots -= 1;
    }

    // ---------------------------------------------------------------- views

    /// @notice True when `node` is registered, active (not jailed, unbonding or exited).
    function isActive(address node) external view returns (bool) {
        return _nodes[node].status == Status.Active;
    }

    /// @notice The account operating `node` (the node itself unless an operator accepted it).
    function operatorOf(address node) external view returns (address) {
        address operator = _operators[node];
        return operator == address(0) ? node : operator;
    }

    /// @notice Status and price of `node` in one call (for the Market).
    function offer(address node) external view returns (Status status, uint128 pricePerByteEpoch) {
        Node storage n = _nodes[node];
        return (n.status, n.pricePerByteEpoch);
    }

    /// @notice Everything known about `node` (status None when it never registered).
    function getNode(address node) external view returns (NodeView memory) {
        return _view(node);
    }

    /// @notice Number of active nodes.
    function activeNodeCount() external view returns (uint256) {
        return _active.length();
    }

    /// @notice Active nodes with their endpoints, page by page (`offset` counts active nodes, at most `limit`).
    function activeNodes(uint256 offset, uint256 limit) external view returns (NodeView[] memory page) {
        uint256 total = _active.length();
        uint256 end = offset >= total ? offset : (limit > total - offset ? total : offset + limit);
        page = new NodeView[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            page[i - offset] = _view(_active.at(i));
        }
    }

    // ---------------------------------------------------------------- internals

    function _register(
        bytes calldata peerId,
        string[] calldata multiaddrs,
        uint64 capacity,
        uint128 pricePerByteEpoch,
        uint256 amount
    ) private {
        Node storage n = _nodes[msg.sender];
        if (n.status != Status.None && n.status != Status.Exited) revert AlreadyRegistered(msg.sender);
        if (amount < minStake) revert StakeBelowMinimum(amount, minStake);
        _checkEndpoints(peerId, multiaddrs);
        n.stake = amount;
        n.pricePerByteEpoch = pricePerByteEpoch;
        n.capacity = capacity;
        n.unbondAt = 0;
        n.status = Status.Active;
        n.missedProofs = 0;
        n.peerId = peerId;
        _setMultiaddrs(n, multiaddrs);
        totalStaked += amount;
        _active.add(msg.sender);
        emit NodeRegistered(msg.sender, peerId, amount, capacity, pricePerByteEpoch);
        emit EndpointsUpdated(msg.sender, peerId, multiaddrs);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _addStake(uint256 amount) private {
        Node storage n = _registered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (n.status == Status.Exited) revert WrongStatus(msg.sender, n.status);
        n.stake += amount;
        totalStaked += amount;
        emit StakeAdded(msg.sender, amount, n.stake);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _setMultiaddrs(Node storage n, string[] calldata multiaddrs) private {
        delete n.multiaddrs;
        for (uint256 i = 0; i < multiaddrs.length; i++) {
            n.multiaddrs.push(multiaddrs[i]);
        }
    }

    function _jail(address node, Node storage n) private {
        n.status = Status.Jailed;
        _active.remove(node);
        emit NodeJailed(node);
    }

    function _registered(address node) private view returns (Node storage n) {
        n = _nodes[node];
        if (n.status == Status.None) revert NotRegistered(node);
    }

    function _checkEndpoints(bytes calldata peerId, string[] calldata multiaddrs) private pure {
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_LENGTH) revert InvalidPeerId(peerId.length);
        if (multiaddrs.length > MAX_MULTIADDRS) revert TooManyMultiaddrs(multiaddrs.length, MAX_MULTIADDRS);
        for (uint256 i = 0; i < multiaddrs.length; i++) {
            uint256 len = bytes(multiaddrs[i]).length;
            if (len == 0 || len > MAX_MULTIADDR_LENGTH) revert MultiaddrTooLong(i, len, MAX_MULTIADDR_LENGTH);
        }
    }

    function _view(address node) private view returns (NodeView memory v) {
        Node storage n = _nodes[node];
        v.account = node;
        v.status = n.status;
        v.stake = n.stake;
        v.pricePerByteEpoch = n.pricePerByteEpoch;
        v.capacity = n.capacity;
        v.unbondAt = n.unbondAt;
        v.activeSlots = n.activeSlots;
        v.missedProofs = n.missedProofs;
        v.peerId = n.peerId;
        v.multiaddrs = n.multiaddrs;
        if (market != address(0)) (v.lastProvedEpoch, v.hasProved) = IProofRecords(market).lastProvedEpoch(node);
    }
}
