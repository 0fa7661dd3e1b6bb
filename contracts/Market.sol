// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {PermitSignature, PermitLib} from "./PermitSignature.sol";
import {Registry} from "./Registry.sol";
import {SlotMerkle} from "./SlotMerkle.sol";

interface IMintableToken is IERC20 {
    function mint(address to, uint256 amount) external;
    function burn(uint256 amount) external;
}

/// @title Market: storage deals, per-epoch proofs of storage, payments, slashing, repair and the emission (the bank)
/// @notice A user opens a deal for n slots (each slot = one node's share of a file, committed by its Merkle root and
/// byte size, held by n distinct nodes of n distinct operators) and escrows, per slot and epoch, the payment
/// max(price x bytes, minPaymentPerSlotEpoch) plus the protocol fee (`protocolFeeBps` of it, rounded up), and per
/// slot one `confirmationFee`, paid to its node when it confirms (its confirmation's gas). Every epoch
/// a seed drawn from the chain's randomness picks one leaf of every slot (bound to the prover's address); the holder
/// proves it within `responseWindowBlocks` of the seed's block, before the epoch ends. A valid proof pays the slot's
/// payment to the holder and burns the fee. The emission (the bank) is never split by bytes: a node's reward for an
/// epoch is at most `rewardShareBps` of the fees burned by its proofs in that epoch (a fraction below one), scaled
/// down pro rata when the epoch's claims exceed its emission; so an account on both sides of a deal always loses
/// at least (1 - rewardShareBps) x fee per proof. A missing proof,
/// reported by anyone after the epoch, slashes the holder's stake into the slot's repair bounty; after `maxMisses`
/// consecutive misses the slot is open, and any other active node takes it by proving against the same root.
/// Epoch e covers [genesis + e * epochSeconds, genesis + (e + 1) * epochSeconds); its proofs are due before its end.
/// This contract's token balance always equals `totalLiabilities` = escrow of all deals + earnings not yet withdrawn
/// + repair bounties (rewards are minted at withdrawal, so they are not part of the balance; fees are burned in the
/// transaction of their proof).
/// Every slot of a new deal carries its node's consent: an EIP-712 `SlotAcceptance` of the slot's `SlotTerms` (this
/// Market, the deal's owner, manifest, slot index, root, size, price cap, duration), signed by the node's registered
/// account; the Registry checks it and lets each acceptance open one slot, once.
contract Market is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum SlotState {
        Pending,
        Active,
        Open
    }

    struct MarketParams {
        uint64 epochSeconds;
        uint64 genesis;
        uint16 maxMisses;
        uint256 slashPerMiss;
        uint256 initialEmission;
        uint64 halvingEpochs;
        uint16 protocolFeeBps;
        uint16 rewardShareBps;
        uint256 minPaymentPerSlotEpoch;
        uint32 maxSlotsPerNode;
        uint32 responseWindowBlocks;
        uint256 confirmationFee;
    }

    struct DealParams {
        bytes manifestCid;
        uint64 size;
        uint8 k;
        bytes32[] slotRoots;
        uint64[] slotSizes;
        address[] nodes;
        uint32 durationEpochs;
        uint128 maxPricePerByteEpoch;
        /// @dev One per slot: the named node's signed `SlotAcceptance` of the slot's terms, ABI-encoded as
        /// (uint256 nonce, uint64 expiry, bytes signature) (see `Registry.useAcceptance`).
        bytes[] acceptances;
    }

    struct Deal {
        address owner;
        uint40 startEpoch;
        uint40 endEpoch;
        uint8 k;
        uint8 n;
        uint256 escrow;
        uint128 paymentPerEpoch;
        uint128 maxPricePerByteEpoch;
        uint64 size;
        bool closed;
        bytes manifestCid;
    }

    struct Slot {
        bytes32 root;
        address node;
        uint40 nextEpoch;
        SlotState state;
        uint16 misses;
        uint64 size;
        uint128 pricePerByteEpoch;
        /// @dev First epoch the holder did not agree to: the deal's end when it accepted (createDeal) or took the
        /// slot (repairSlot). A renewal (topUp) does not move it: past it the holder may let the slot go unpunished.
        uint40 acceptedEnd;
        uint256 bounty;
    }

    /// @dev Per node: its last proved epoch, settled rewards (one slot: a node's first proof of an epoch rewrites it),
    /// the fees its proofs burned in its last proved epoch (its reward claim). uint128 rewards cannot overflow: all
    /// rewards ever minted are at most the whole emission, 2 x initialEmission x halvingEpochs < 2^112 (constructor).
    struct NodeAccount {
        uint40 lastEpoch;
        bool proved;
        uint128 rewards;
        uint256 epochFees;
    }

    /// @dev Per epoch: the challenge seed and the bytes proven (informational) in one slot; the block the seed was
    /// drawn in (the response window starts there) and the fees burned (the divisor of the emission when the claims
    /// exceed it) in another, which drawSeed writes first, so the epoch's first proof does not write a fresh slot.
    /// Fees are at most 2^192 - 1 (a proof that would pass it reverts: more than any token supply).
    struct EpochRecord {
        uint128 seed;
        uint128 provenBytes;
        uint64 seedBlock;
        uint192 fees;
    }

    struct DealView {
        uint256 id;
        address owner;
        bytes manifestCid;
        uint64 size;
        uint8 k;
        uint8 n;
        uint40 startEpoch;
        uint40 endEpoch;
        uint256 escrow;
        uint128 paymentPerEpoch;
        uint128 maxPricePerByteEpoch;
        bool closed;
    }

    /// @notice One slot's proof in a `submitProofs` batch: the same arguments as `submitProof`.
    struct ProofInput {
        uint256 dealId;
        uint256 slotIndex;
        bytes leaf;
        bytes32[] proof;
    }

    struct SlotView {
        bytes32 root;
        address node;
        uint40 nextEpoch;
        SlotState state;
        uint16 misses;
        uint64 size;
        uint128 pricePerByteEpoch;
        uint256 bounty;
    }

    uint256 public constant MAX_SLOTS = 64;
    uint256 public constant MAX_MANIFEST_CID_LENGTH = 128;
    uint256 public constant BPS = 10_000;
    /// @notice EIP-712 type of the terms of slot `slotIndex` of a deal that `client` opens on `market`.
    bytes32 private constant SLOT_TERMS_TYPEHASH = keccak256(
        "SlotTerms(address market,address client,bytes32 manifestCidHash,uint8 slotIndex,bytes32 root,uint64 size,"
        "uint128 maxPricePerByteEpoch,uint32 durationEpochs)"
    );

    IMintableToken public immutable token;
    Registry public immutable registry;
    uint64 public immutable epochSeconds;
    uint64 public immutable genesis;
    uint16 public immutable maxMisses;
    uint256 public immutable slashPerMiss;
    uint256 public immutable initialEmission;
    uint64 public immutable halvingEpochs;
    /// @notice Protocol fee, in basis points of a slot's payment, escrowed on top of it and burned at each proof.
    uint16 public immutable protocolFeeBps;
    /// @notice A node's emission reward for an epoch is at most this share (basis points, below 10,000) of the fees
    /// its proofs burned in that epoch.
    uint16 public immutable rewardShareBps;
    /// @notice Least payment of one slot for one epoch, whatever the node's price (covers a proof's gas).
    uint256 public immutable minPaymentPerSlotEpoch;
    /// @notice Most slots one node may hold at once (confirmed or repaired, until their deal closes).
    uint32 public immutable maxSlotsPerNode;
    /// @notice Blocks after the seed's block within which a proof of that epoch is accepted.
    uint32 public immutable responseWindowBlocks;
    /// @notice Paid to a slot's node when it confirms the slot, out of the escrow (escrowed per slot at createDeal,
    /// kept by endDeal for a slot not confirmed yet, refunded at closeDeal if never confirmed): covers the
    /// confirmation's gas, so a deal ended before its start (or after one epoch) still pays the node what it spent.
    uint256 public immutable confirmationFee;

    uint256 public dealCount;
    uint256 public totalLiabilities;
    mapping(uint256 => Deal) private _deals;
    mapping(uint256 => mapping(uint256 => Slot)) private _slots;
    mapping(uint256 => EpochRecord) private _epochs;
    mapping(address => NodeAccount) private _accounts;
    mapping(address => uint256) public earnings;
    /// @dev Fees of the proofs accepted in the current call, burned once at its end.
    uint256 private transient _feesToBurn;

    event SeedDrawn(uint256 indexed epoch, bytes32 seed);
    event DealCreated(
        uint256 indexed dealId,
        address indexed owner,
        bytes manifestCid,
        uint64 size,
        uint8 k,
        uint8 n,
        uint40 startEpoch,
        uint40 endEpoch,
        uint256 escrow
    );
    event SlotAssigned(uint256 indexed dealId, uint256 indexed slot, address indexed node, bytes32 root, uint64 size);
    event SlotConfirmed(uint256 indexed dealId, uint256 indexed slot, address indexed node, uint40 fromEpoch);
    event ProofAccepted(
        uint256 indexed dealId, uint256 indexed slot, address indexed node, uint256 epoch, uint256 payment
    );
    /// @notice A proof of a `submitProofs` batch that was not accepted (not paid); `reason` is the ABI-encoded custom
    /// error `submitProof` would have reverted with (e.g. `InvalidProof`, `EpochAlreadyProven`).
    event ProofRejected(
        uint256 indexed dealId, uint256 indexed slot, address indexed node, uint256 epoch, bytes reason
    );
    event ProofMissed(
        uint256 indexed dealId, uint256 indexed slot, address indexed node, uint256 epoch, uint256 slashed, uint16 misses
    );
    event SlotOpened(uint256 indexed dealId, uint256 indexed slot, address indexed formerNode);
    event SlotRepaired(
        uint256 indexed dealId, uint256 indexed slot, address indexed node, address formerNode, uint256 bounty
    );
    event DealToppedUp(uint256 indexed dealId, address indexed payer, uint256 amount, uint40 endEpoch);
    event DealEnded(uint256 indexed dealId, uint40 endEpoch, uint256 refund);
    event DealClosed(uint256 indexed dealId, uint256 escrowRefund, uint256 bountyRefund);
    event RewardSettled(address indexed node, uint256 indexed epoch, uint256 amount);
    event Withdrawn(address indexed node, uint256 earnings, uint256 rewards);

    error InvalidParams(string reason);
    error DealNotFound(uint256 dealId);
    error SlotNotFound(uint256 dealId, uint256 slot);
    error InvalidRedundancy(uint256 k, uint256 n);
    error SlotCountMismatch(uint256 roots, uint256 sizes, uint256 nodes);
    error InvalidManifestCid(uint256 length);
    error ZeroDuration();
    error NodeNotActive(address node);
    error DuplicateNode(address node);
    error PriceAboveMax(address node, uint256 price, uint256 maxPrice);
    error NotSlotHolder(uint256 dealId, uint256 slot, address caller);
    error WrongSlotState(uint256 dealId, uint256 slot, SlotState state);
    error DealHasEnded(uint256 dealId, uint256 endEpoch);
    error DealNotStarted(uint256 dealId, uint256 startEpoch);
    error DealNotEnded(uint256 dealId, uint256 endEpoch);
    error DealAlreadyClosed(uint256 dealId);
    error NotDealOwner(uint256 dealId, address caller);
    error NothingToShorten(uint256 dealId, uint256 endEpoch);
    error SeedNotDrawn(uint256 epoch);
    error EpochAlreadyProven(uint256 dealId, uint256 slot, uint256 epoch);
    error InvalidLeafLength(uint256 expected, uint256 actual);
    error InvalidProof(uint256 dealId, uint256 slot, uint256 epoch, uint256 leafIndex);
    error NothingToReport(uint256 dealId, uint256 slot, uint256 nextEpoch);
    error FormerHolderCannotRepair(uint256 dealId, uint256 slot, address node);
    error NothingToWithdraw(address account);
    error DuplicateOperator(address operator, address node, address otherNode);
    error SlotCapReached(address node, uint256 slots, uint256 max);
    error ResponseWindowClosed(uint256 epoch, uint256 seedBlock, uint256 lastBlock);

    constructor(IMintableToken token_, Registry registry_, MarketParams memory p) {
        if (p.epochSeconds == 0) revert InvalidParams("epochSeconds is zero");
        if (p.maxMisses == 0) revert InvalidParams("maxMisses is zero");
        if (p.halvingEpochs == 0) revert InvalidParams("halvingEpochs is zero");
        if (p.initialEmission > type(uint112).max / 2 / p.halvingEpochs) revert InvalidParams("emission too large");
        if (p.protocolFeeBps == 0) revert InvalidParams("protocolFeeBps is zero");
        if (p.rewardShareBps >= BPS) revert InvalidParams("rewardShareBps must be below 10000");
        if (p.minPaymentPerSlotEpoch == 0) revert InvalidParams("minPaymentPerSlotEpoch is zero");
        if (p.maxSlotsPerNode == 0) revert InvalidParams("maxSlotsPerNode is zero");
        if (p.responseWindowBlocks == 0) revert InvalidParams("responseWindowBlocks is zero");
        token = token_;
        registry = registry_;
        epochSeconds = p.epochSeconds;
        genesis = p.genesis == 0 ? uint64(block.timestamp) : p.genesis;
        if (genesis > block.timestamp) revert InvalidParams("genesis is in the future");
        maxMisses = p.maxMisses;
        slashPerMiss = p.slashPerMiss;
        initialEmission = p.initialEmission;
        halvingEpochs = p.halvingEpochs;
        protocolFeeBps = p.protocolFeeBps;
        rewardShareBps = p.rewardShareBps;
        minPaymentPerSlotEpoch = p.minPaymentPerSlotEpoch;
        maxSlotsPerNode = p.maxSlotsPerNode;
        responseWindowBlocks = p.responseWindowBlocks;
        confirmationFee = p.confirmationFee;
    }

    // ---------------------------------------------------------------- epochs and challenges

    /// @notice The current epoch: (block.timestamp - genesis) / epochSeconds.
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / epochSeconds;
    }

    /// @notice The bank's budget for epoch `epoch`: the most its rewards may mint in all (halves every
    /// `halvingEpochs`). Each node's reward is also capped by `rewardShareBps` of the fees it burned (see `rewardOf`).
    function emission(uint256 epoch) public view returns (uint256) {
        uint256 halvings = epoch / halvingEpochs;
        return halvings >= 256 ? 0 : initialEmission >> halvings;
    }

    /// @notice Draws the current epoch's challenge seed from the chain's randomness (once per epoch; later calls
    /// return the drawn seed). Anyone may call it; provers call it when `challenge` reports no seed yet.
    function drawSeed() external returns (bytes32 seed) {
        uint256 e = currentEpoch();
        EpochRecord storage r = _epochs[e];
        if (r.seed == 0) {
            uint128 drawn = uint128(uint256(keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), e))));
            r.seed = drawn == 0 ? 1 : drawn;
            r.seedBlock = uint64(block.number);
            emit SeedDrawn(e, bytes32(uint256(r.seed)));
        }
        return bytes32(uint256(r.seed));
    }

    /// @notice The challenge seed of `epoch` (zero until drawn).
    function epochSeed(uint256 epoch) external view returns (bytes32) {
        return bytes32(uint256(_epochs[epoch].seed));
    }

    /// @notice Bytes proven in `epoch` so far (final once the epoch has ended).
    function provenBytes(uint256 epoch) external view returns (uint256) {
        return _epochs[epoch].provenBytes;
    }

    /// @notice Settled emission rewards of `node`, minted at withdrawal.
    function rewards(address node) external view returns (uint256) {
        return _accounts[node].rewards;
    }

    /// @notice Fees burned by the proofs of `epoch` so far (final once the epoch has ended).
    function epochFees(uint256 epoch) external view returns (uint256) {
        return _epochs[epoch].fees;
    }

    /// @notice The most the rewards of `epoch` mint in all: min(emission, rewardShareBps of its fees) (final once the
    /// epoch has ended; each node's rounding down may leave a few units unminted).
    function epochRewards(uint256 epoch) public view returns (uint256) {
        uint256 claims = (_epochs[epoch].fees * rewardShareBps) / BPS;
        uint256 budget = emission(epoch);
        return claims < budget ? claims : budget;
    }

    /// @notice The block of `epoch`'s seed and the last block a proof of that epoch is accepted in (zeros until the
    /// seed is drawn).
    function responseWindow(uint256 epoch) external view returns (uint256 seedBlock, uint256 lastBlock) {
        seedBlock = _epochs[epoch].seedBlock;
        if (seedBlock != 0) lastBlock = seedBlock + responseWindowBlocks;
    }

    /// @notice What one slot costs its deal per epoch: the node's payment max(size x price, minPaymentPerSlotEpoch)
    /// and the protocol fee burned with it.
    function slotCharge(uint64 size, uint128 pricePerByteEpoch) public view returns (uint256 payment, uint256 fee) {
        payment = uint256(size) * pricePerByteEpoch;
        if (payment < minPaymentPerSlotEpoch) payment = minPaymentPerSlotEpoch;
        fee = (payment * protocolFeeBps + BPS - 1) / BPS;
    }

    /// @notice The escrow `createDeal` pulls for slots of `sizes` held by `nodes` (at their current prices) for
    /// `durationEpochs`: the slots' charges x epochs, plus one `confirmationFee` per slot.
    function quoteDeal(address[] calldata nodes, uint64[] calldata sizes, uint32 durationEpochs)
        external
        view
        returns (uint256 escrow)
    {
        if (sizes.length != nodes.length) revert SlotCountMismatch(sizes.length, sizes.length, nodes.length);
        for (uint256 i = 0; i < nodes.length; i++) {
            (, uint128 price) = registry.offer(nodes[i]);
            (uint256 payment, uint256 fee) = slotCharge(sizes[i], price);
            escrow += payment + fee;
        }
        escrow = escrow * durationEpochs + nodes.length * confirmationFee;
    }

    /// @notice The leaf that slot `slotIndex` of deal `dealId` must prove in the current epoch (for its holder).
    function challenge(uint256 dealId, uint256 slotIndex)
        external
        view
        returns (uint256 epoch, uint256 leafIndex, uint256 leafLength, uint256 leafCount)
    {
        return challengeFor(dealId, slotIndex, _slot(dealId, slotIndex).node);
    }

    /// @notice The leaf `prover` must prove for slot `slotIndex` of deal `dealId` in the current epoch: the holder's
    /// challenge, or a repairer's for an open slot (each account has its own leaf, so a copied proof fails).
    function challengeFor(uint256 dealId, uint256 slotIndex, address prover)
        public
        view
        returns (uint256 epoch, uint256 leafIndex, uint256 leafLength, uint256 leafCount)
    {
        _deal(dealId);
        Slot storage s = _slot(dealId, slotIndex);
        epoch = currentEpoch();
        bytes32 seed = bytes32(uint256(_epochs[epoch].seed));
        if (seed == bytes32(0)) revert SeedNotDrawn(epoch);
        leafCount = SlotMerkle.leafCount(s.size);
        leafIndex = _leafIndex(seed, dealId, slotIndex, epoch, leafCount, prover);
        leafLength = SlotMerkle.leafLength(s.size, leafIndex);
    }

    /// @notice Checks a slot Merkle proof exactly as `submitProof` does (for clients and tests).
    function verifySlotProof(
        bytes32 root,
        uint256 leafIndex,
        uint256 leafCount,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return SlotMerkle.verify(root, leafIndex, leafCount, leaf, proof);
    }

    // ---------------------------------------------------------------- deals

    /// @notice Opens a deal and pulls its escrow (`quoteDeal`): per slot, its charge per epoch x durationEpochs plus
    /// the `confirmationFee`. The deal runs from the next epoch for `durationEpochs` epochs; each named node must
    /// `confirmSlot`.
    function createDeal(DealParams calldata p) external nonReentrant returns (uint256 dealId) {
        return _createDeal(p);
    }

    /// @notice `createDeal` with an EIP-2612 permit for the escrow: approve and pay in one transaction.
    function createDealWithPermit(DealParams calldata p, PermitSignature calldata permit)
        external
        nonReentrant
        returns (uint256 dealId)
    {
        PermitLib.apply_(address(token), msg.sender, address(this), permit);
        return _createDeal(p);
    }

    /// @notice Extends a running deal by `extraEpochs`, pulling paymentPerEpoch x extraEpochs from the caller.
    function topUp(uint256 dealId, uint32 extraEpochs) external nonReentrant {
        _topUp(dealId, extraEpochs);
    }

    /// @notice `topUp` with an EIP-2612 permit.
    function topUpWithPermit(uint256 dealId, uint32 extraEpochs, PermitSignature calldata permit)
        external
        nonReentrant
    {
        PermitLib.apply_(address(token), msg.sender, address(this), permit);
        _topUp(dealId, extraEpochs);
    }

    /// @notice The owner ends the deal after the current epoch and gets back the escrow no node can still earn
    /// (the current epoch stays payable to slots that have not proved it yet, and a pending slot's confirmation fee
    /// stays payable to its node; confirmation fees already paid stay paid).
    function endDeal(uint256 dealId) external nonReentrant {
        Deal storage d = _deal(dealId);
        if (msg.sender != d.owner) revert NotDealOwner(dealId, msg.sender);
        uint256 e = currentEpoch();
        if (d.closed || e >= d.endEpoch) revert DealHasEnded(dealId, d.endEpoch);
        uint256 newEnd = e + 1 > d.startEpoch ? e + 1 : d.startEpoch;
        if (newEnd >= d.endEpoch) revert NothingToShorten(dealId, d.endEpoch);
        uint256 reserve = 0;
        for (uint256 i = 0; i < d.n; i++) {
            Slot storage s = _slots[dealId][i];
            if (s.nextEpoch <= e) {
                (uint256 payment, uint256 fee) = slotCharge(s.size, s.pricePerByteEpoch);
                reserve += payment + fee;
            }
            // A pending slot may still confirm before the new end: its node is then paid the confirmation fee.
            if (s.state == SlotState.Pending) reserve += confirmationFee;
        }
        uint256 refund = d.escrow - reserve;
        d.escrow = reserve;
        d.endEpoch = uint40(newEnd);
        totalLiabilities -= refund;
        emit DealEnded(dealId, uint40(newEnd), refund);
        if (refund > 0) IERC20(token).safeTransfer(d.owner, refund);
    }

    /// @notice After a deal's last epoch: reports its remaining missed epochs, frees its slots and pays the owner
    /// the unspent escrow plus the unclaimed repair bounties. Anyone may call it; the money goes to the owner.
    function closeDeal(uint256 dealId) external nonReentrant {
        Deal storage d = _deal(dealId);
        if (d.closed) revert DealAlreadyClosed(dealId);
        if (currentEpoch() < d.endEpoch) revert DealNotEnded(dealId, d.endEpoch);
        uint256 bounties = 0;
        for (uint256 i = 0; i < d.n; i++) {
            Slot storage s = _slots[dealId][i];
            _processMisses(dealId, i, s, d.endEpoch);
            if (s.state == SlotState.Active) registry.slotReleased(s.node);
            bounties += s.bounty;
            s.bounty = 0;
        }
        uint256 escrow = d.escrow;
        d.escrow = 0;
        d.closed = true;
        totalLiabilities -= escrow + bounties;
        emit DealClosed(dealId, escrow, bounties);
        if (escrow + bounties > 0) IERC20(token).safeTransfer(d.owner, escrow + bounties);
    }

    // ---------------------------------------------------------------- slots and proofs

    /// @notice The node named for a pending slot accepts it (it holds the data) and is credited the slot's
    /// `confirmationFee` out of the escrow. Epochs that passed unconfirmed are written off (not paid, refunded to
    /// the owner at the end); the node must prove from the current epoch on.
    function confirmSlot(uint256 dealId, uint256 slotIndex) external nonReentrant {
        Deal storage d = _deal(dealId);
        uint256 e = currentEpoch();
        if (d.closed || e >= d.endEpoch) revert DealHasEnded(dealId, d.endEpoch);
        Slot storage s = _slot(dealId, slotIndex);
        if (s.state != SlotState.Pending) revert WrongSlotState(dealId, slotIndex, s.state);
        if (s.node != msg.sender) revert NotSlotHolder(dealId, slotIndex, msg.sender);
        if (!registry.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        if (s.nextEpoch < e) s.nextEpoch = uint40(e);
        s.misses = 0;
        s.state = SlotState.Active;
        _takeSlot(msg.sender);
        d.escrow -= confirmationFee;
        earnings[msg.sender] += confirmationFee;
        emit SlotConfirmed(dealId, slotIndex, msg.sender, s.nextEpoch);
    }

    /// @notice The holder proves the current epoch's challenged leaf of its slot: releases the slot's payment for
    /// the epoch and counts its bytes toward the epoch's emission.
    function submitProof(uint256 dealId, uint256 slotIndex, bytes calldata leaf, bytes32[] calldata proof)
        external
        nonReentrant
    {
        bytes memory failure = _prove(dealId, slotIndex, currentEpoch(), leaf, proof);
        if (failure.length != 0) {
            assembly ("memory-safe") {
                revert(add(failure, 0x20), mload(failure))
            }
        }
        _burnFees();
    }

    /// @notice Proves several slots in one transaction, each exactly as `submitProof` would (same checks, same
    /// payment, same events). Skip-and-report: a proof `submitProof` would reject (bad proof, already proven, wrong
    /// state, not the holder...) changes nothing and is not paid; it emits `ProofRejected` with that custom error and
    /// the batch goes on with the next one. Returns, per input, whether it was accepted. The whole call reverts only
    /// for what no single proof causes (out of gas, a re-entrant call).
    function submitProofs(ProofInput[] calldata proofs) external nonReentrant returns (bool[] memory accepted) {
        uint256 e = currentEpoch();
        accepted = new bool[](proofs.length);
        for (uint256 i = 0; i < proofs.length; i++) {
            ProofInput calldata p = proofs[i];
            bytes memory failure = _prove(p.dealId, p.slotIndex, e, p.leaf, p.proof);
            if (failure.length == 0) accepted[i] = true;
            else emit ProofRejected(p.dealId, p.slotIndex, msg.sender, e, failure);
        }
        _burnFees();
    }

    /// @notice Records every closed, unproven epoch of a slot (at most until it opens): each one slashes the holder
    /// (`slashPerMiss`, into the slot's repair bounty); after `maxMisses` in a row the slot opens for repair. Anyone
    /// may call it. Pending (never confirmed) slots count misses without slashing. A miss at or past the end the
    /// holder accepted (a renewal went beyond it) is no fault: the slot opens for repair, unpunished.
    function reportMissed(uint256 dealId, uint256 slotIndex) external nonReentrant returns (uint256 reported) {
        Deal storage d = _deal(dealId);
        if (d.closed) revert DealAlreadyClosed(dealId);
        Slot storage s = _slot(dealId, slotIndex);
        if (s.state == SlotState.Open) revert WrongSlotState(dealId, slotIndex, s.state);
        uint256 e = currentEpoch();
        reported = _processMisses(dealId, slotIndex, s, e < d.endEpoch ? e : d.endEpoch);
        if (reported == 0) revert NothingToReport(dealId, slotIndex, s.nextEpoch);
    }

    /// @notice Takes an open slot by proving the current epoch's challenge for the caller (`challengeFor`, bound to
    /// msg.sender: a copied transaction fails) against the slot's root, within the response window: the caller
    /// becomes the holder, is paid this epoch, and receives the slot's repair bounty (the stake slashed from the
    /// former holder). The caller may not hold, nor share an operator with the holder of, another slot of the deal.
    function repairSlot(uint256 dealId, uint256 slotIndex, bytes calldata leaf, bytes32[] calldata proof)
        external
        nonReentrant
    {
        Deal storage d = _deal(dealId);
        uint256 e = currentEpoch();
        if (d.closed || e >= d.endEpoch) revert DealHasEnded(dealId, d.endEpoch);
        Slot storage s = _slot(dealId, slotIndex);
        if (s.state != SlotState.Open) revert WrongSlotState(dealId, slotIndex, s.state);
        if (s.node == msg.sender) revert FormerHolderCannotRepair(dealId, slotIndex, msg.sender);
        if (!registry.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        _checkNotInDeal(d, dealId, slotIndex, msg.sender);
        _verifyChallenge(dealId, slotIndex, e, s, leaf, proof);
        address former = s.node;
        uint256 bounty = s.bounty;
        s.node = msg.sender;
        s.state = SlotState.Active;
        s.misses = 0;
        s.nextEpoch = uint40(e + 1);
        s.acceptedEnd = d.endEpoch;
        s.bounty = 0;
        _takeSlot(msg.sender);
        emit SlotRepaired(dealId, slotIndex, msg.sender, former, bounty);
        _pay(d, dealId, slotIndex, s, e, bounty);
        _burnFees();
    }

    // ---------------------------------------------------------------- earnings

    /// @notice Credits `node`'s share of its last proved epoch's emission once that epoch has closed.
    function settleRewards(address node) external {
        _settle(node, _accounts[node], currentEpoch());
    }

    /// @notice Pays the caller its earnings (deal payments and repair bounties) and mints its settled rewards.
    function withdraw() external nonReentrant returns (uint256 paid, uint256 minted) {
        NodeAccount storage a = _accounts[msg.sender];
        _settle(msg.sender, a, currentEpoch());
        paid = earnings[msg.sender];
        minted = a.rewards;
        if (paid == 0 && minted == 0) revert NothingToWithdraw(msg.sender);
        earnings[msg.sender] = 0;
        a.rewards = 0;
        totalLiabilities -= paid;
        emit Withdrawn(msg.sender, paid, minted);
        if (paid > 0) IERC20(token).safeTransfer(msg.sender, paid);
        if (minted > 0) token.mint(msg.sender, minted);
    }

    /// @notice What `withdraw` would pay now: earnings, and rewards including the not yet settled share.
    function withdrawable(address node) external view returns (uint256 earned, uint256 reward) {
        earned = earnings[node];
        NodeAccount storage a = _accounts[node];
        reward = a.rewards;
        if (a.proved && a.epochFees > 0 && a.lastEpoch < currentEpoch()) reward += _share(a);
    }

    /// @notice The last epoch `node` proved any slot in (`proved` false when never).
    function lastProvedEpoch(address node) external view returns (uint64 epoch, bool proved) {
        NodeAccount storage a = _accounts[node];
        return (a.lastEpoch, a.proved);
    }

    // ---------------------------------------------------------------- views

    function getDeal(uint256 dealId) external view returns (DealView memory v) {
        Deal storage d = _deal(dealId);
        v = DealView({
            id: dealId,
            owner: d.owner,
            manifestCid: d.manifestCid,
            size: d.size,
            k: d.k,
            n: d.n,
            startEpoch: d.startEpoch,
            endEpoch: d.endEpoch,
            escrow: d.escrow,
            paymentPerEpoch: d.paymentPerEpoch,
            maxPricePerByteEpoch: d.maxPricePerByteEpoch,
            closed: d.closed
        });
    }

    function getSlot(uint256 dealId, uint256 slotIndex) external view returns (SlotView memory) {
        _deal(dealId);
        Slot storage s = _slot(dealId, slotIndex);
        return SlotView(s.root, s.node, s.nextEpoch, s.state, s.misses, s.size, s.pricePerByteEpoch, s.bounty);
    }

    // ---------------------------------------------------------------- internals

    function _createDeal(DealParams calldata p) private returns (uint256 dealId) {
        uint256 n = p.slotRoots.length;
        if (p.slotSizes.length != n || p.nodes.length != n || p.acceptances.length != n) {
            revert SlotCountMismatch(n, p.slotSizes.length, p.nodes.length);
        }
        if (p.k == 0 || p.k > n || n > MAX_SLOTS) revert InvalidRedundancy(p.k, n);
        if (p.manifestCid.length == 0 || p.manifestCid.length > MAX_MANIFEST_CID_LENGTH) {
            revert InvalidManifestCid(p.manifestCid.length);
        }
        if (p.durationEpochs == 0) revert ZeroDuration();
        dealId = ++dealCount;
        uint40 start = uint40(currentEpoch() + 1);
        uint256 perEpoch = 0;
        address[] memory operators = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            perEpoch += _assignSlot(p, dealId, i, start, operators);
        }
        uint256 escrow = perEpoch * p.durationEpochs + n * confirmationFee;
        Deal storage d = _deals[dealId];
        d.owner = msg.sender;
        d.startEpoch = start;
        d.endEpoch = start + p.durationEpochs;
        d.k = p.k;
        d.n = uint8(n);
        d.escrow = escrow;
        d.paymentPerEpoch = uint128(perEpoch);
        d.maxPricePerByteEpoch = p.maxPricePerByteEpoch;
        d.size = p.size;
        d.manifestCid = p.manifestCid;
        totalLiabilities += escrow;
        emit DealCreated(dealId, msg.sender, p.manifestCid, p.size, p.k, uint8(n), start, d.endEpoch, escrow);
        if (escrow > 0) IERC20(token).safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @dev Checks and records slot `i` of a new deal; returns what it costs per epoch (payment + fee).
    function _assignSlot(DealParams calldata p, uint256 dealId, uint256 i, uint40 start, address[] memory operators)
        private
        returns (uint256)
    {
        uint128 price = _checkSlotNode(p, i, operators);
        Slot storage s = _slots[dealId][i];
        s.root = p.slotRoots[i];
        s.node = p.nodes[i];
        s.nextEpoch = start;
        s.size = p.slotSizes[i];
        s.pricePerByteEpoch = price;
        s.acceptedEnd = start + p.durationEpochs;
        emit SlotAssigned(dealId, i, p.nodes[i], p.slotRoots[i], p.slotSizes[i]);
        (uint256 payment, uint256 fee) = slotCharge(p.slotSizes[i], price);
        return payment + fee;
    }

    /// @dev The node of slot `i` consented to it (`_useAcceptance`), is active, within the price, and neither it nor
    /// its operator holds an earlier slot of the deal; returns its price.
    function _checkSlotNode(DealParams calldata p, uint256 i, address[] memory operators)
        private
        returns (uint128 price)
    {
        address node = p.nodes[i];
        address operator = registry.operatorOf(node);
        for (uint256 j = 0; j < i; j++) {
            if (p.nodes[j] == node) revert DuplicateNode(node);
            if (operators[j] == operator) revert DuplicateOperator(operator, node, p.nodes[j]);
        }
        operators[i] = operator;
        Registry.Status status;
        (status, price) = _useAcceptance(p, i);
        if (status != Registry.Status.Active) revert NodeNotActive(node);
        if (price > p.maxPricePerByteEpoch) revert PriceAboveMax(node, price, p.maxPricePerByteEpoch);
    }

    /// @dev Refuses slot `i` unless its node signed a `SlotAcceptance` of exactly these terms for the caller, still
    /// valid and not used before (the Registry checks and consumes it); returns the node's status and price.
    function _useAcceptance(DealParams calldata p, uint256 i) private returns (Registry.Status, uint128) {
        bytes32 terms = keccak256(
            abi.encode(
                SLOT_TERMS_TYPEHASH,
                address(this),
                msg.sender,
                keccak256(p.manifestCid),
                i,
                p.slotRoots[i],
                p.slotSizes[i],
                p.maxPricePerByteEpoch,
                p.durationEpochs
            )
        );
        return registry.useAcceptance(p.nodes[i], i, terms, p.acceptances[i]);
    }

    function _topUp(uint256 dealId, uint32 extraEpochs) private {
        Deal storage d = _deal(dealId);
        if (d.closed || currentEpoch() >= d.endEpoch) revert DealHasEnded(dealId, d.endEpoch);
        if (extraEpochs == 0) revert ZeroDuration();
        uint256 amount = uint256(d.paymentPerEpoch) * extraEpochs;
        d.escrow += amount;
        d.endEpoch += extraEpochs;
        totalLiabilities += amount;
        emit DealToppedUp(dealId, msg.sender, amount, d.endEpoch);
        if (amount > 0) IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    function _processMisses(uint256 dealId, uint256 slotIndex, Slot storage s, uint256 until)
        private
        returns (uint256 count)
    {
        while (s.nextEpoch < until && s.state != SlotState.Open) {
            uint256 epoch = s.nextEpoch;
            if (epoch >= s.acceptedEnd) {
                // A renewal went past what the holder agreed to: its first miss there lets the slot go, unpunished,
                // for a repairer to take at the renewed terms.
                if (s.state == SlotState.Active) registry.slotReleased(s.node);
                s.state = SlotState.Open;
                emit SlotOpened(dealId, slotIndex, s.node);
                return count + 1;
            }
            s.nextEpoch = uint40(epoch + 1);
            s.misses += 1;
            count++;
            uint256 slashed = 0;
            if (s.state == SlotState.Active) {
                slashed = registry.slash(s.node, slashPerMiss);
                s.bounty += slashed;
                totalLiabilities += slashed;
            }
            emit ProofMissed(dealId, slotIndex, s.node, epoch, slashed, s.misses);
            if (s.misses >= maxMisses) {
                if (s.state == SlotState.Active) {
                    registry.slotReleased(s.node);
                    registry.jail(s.node);
                }
                s.state = SlotState.Open;
                emit SlotOpened(dealId, slotIndex, s.node);
            }
        }
    }

    /// @dev The one implementation of a holder's proof (submitProof and submitProofs): every check first, in this
    /// order, then the payment. Returns the ABI-encoded custom error that rejects the proof, or empty bytes when the
    /// proof was accepted and paid. Nothing changed on a rejection, except skipped epochs recorded as misses (which
    /// stay recorded when submitProofs skips the proof; submitProof reverts them with it).
    function _prove(uint256 dealId, uint256 slotIndex, uint256 e, bytes calldata leaf, bytes32[] calldata proof)
        private
        returns (bytes memory failure)
    {
        Deal storage d = _deals[dealId];
        if (d.owner == address(0)) return abi.encodeWithSelector(DealNotFound.selector, dealId);
        if (e >= d.endEpoch) return abi.encodeWithSelector(DealHasEnded.selector, dealId, uint256(d.endEpoch));
        if (e < d.startEpoch) return abi.encodeWithSelector(DealNotStarted.selector, dealId, uint256(d.startEpoch));
        if (slotIndex >= d.n) return abi.encodeWithSelector(SlotNotFound.selector, dealId, slotIndex);
        Slot storage s = _slots[dealId][slotIndex];
        if (s.state != SlotState.Active) {
            return abi.encodeWithSelector(WrongSlotState.selector, dealId, slotIndex, s.state);
        }
        if (s.node != msg.sender) return abi.encodeWithSelector(NotSlotHolder.selector, dealId, slotIndex, msg.sender);
        if (s.nextEpoch > e) return abi.encodeWithSelector(EpochAlreadyProven.selector, dealId, slotIndex, e);
        // Epochs the holder skipped are recorded (and slashed) here as `reportMissed` would: one late epoch costs one
        // miss, and the holder proves the current one in the same call.
        if (s.nextEpoch < e) {
            _processMisses(dealId, slotIndex, s, e);
            if (s.state != SlotState.Active) {
                return abi.encodeWithSelector(WrongSlotState.selector, dealId, slotIndex, s.state);
            }
        }
        failure = _challengeFailure(dealId, slotIndex, e, s, leaf, proof);
        if (failure.length != 0) return failure;
        s.nextEpoch = uint40(e + 1);
        s.misses = 0;
        _pay(d, dealId, slotIndex, s, e, 0);
    }

    function _verifyChallenge(
        uint256 dealId,
        uint256 slotIndex,
        uint256 epoch,
        Slot storage s,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) private view {
        bytes memory failure = _challengeFailure(dealId, slotIndex, epoch, s, leaf, proof);
        if (failure.length != 0) {
            assembly ("memory-safe") {
                revert(add(failure, 0x20), mload(failure))
            }
        }
    }

    /// @dev Checks the challenged leaf and its Merkle path against the slot root; returns the custom error that
    /// rejects them (ABI-encoded), or empty bytes.
    function _challengeFailure(
        uint256 dealId,
        uint256 slotIndex,
        uint256 epoch,
        Slot storage s,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) private view returns (bytes memory) {
        bytes memory closed = _windowFailure(epoch);
        if (closed.length != 0) return closed;
        uint256 count = SlotMerkle.leafCount(s.size);
        uint256 index = _leafIndex(bytes32(uint256(_epochs[epoch].seed)), dealId, slotIndex, epoch, count, msg.sender);
        uint256 expected = SlotMerkle.leafLength(s.size, index);
        if (leaf.length != expected) return abi.encodeWithSelector(InvalidLeafLength.selector, expected, leaf.length);
        if (!SlotMerkle.verify(s.root, index, count, leaf, proof)) {
            return abi.encodeWithSelector(InvalidProof.selector, dealId, slotIndex, epoch, index);
        }
        return "";
    }

    /// @dev The custom error that rejects a proof of `epoch` now: no seed yet, or its response window has closed.
    function _windowFailure(uint256 epoch) private view returns (bytes memory) {
        EpochRecord storage r = _epochs[epoch];
        if (r.seed == 0) return abi.encodeWithSelector(SeedNotDrawn.selector, epoch);
        uint256 lastBlock = uint256(r.seedBlock) + responseWindowBlocks;
        if (block.number > lastBlock) {
            return abi.encodeWithSelector(ResponseWindowClosed.selector, epoch, uint256(r.seedBlock), lastBlock);
        }
        return "";
    }

    function _pay(Deal storage d, uint256 dealId, uint256 slotIndex, Slot storage s, uint256 epoch, uint256 extra)
        private
    {
        uint256 size = s.size;
        (uint256 payment, uint256 fee) = slotCharge(s.size, s.pricePerByteEpoch);
        d.escrow -= payment + fee;
        earnings[msg.sender] += payment + extra;
        totalLiabilities -= fee;
        _feesToBurn += fee;
        NodeAccount storage a = _accounts[msg.sender];
        _settle(msg.sender, a, epoch);
        a.lastEpoch = uint40(epoch);
        a.proved = true;
        a.epochFees += fee;
        EpochRecord storage r = _epochs[epoch];
        r.provenBytes += uint128(size);
        r.fees = SafeCast.toUint192(r.fees + fee);
        emit ProofAccepted(dealId, slotIndex, msg.sender, epoch, payment);
    }

    /// @dev Burns the fees of the proofs accepted in this call (one burn per transaction, not one per proof).
    function _burnFees() private {
        uint256 amount = _feesToBurn;
        if (amount == 0) return;
        _feesToBurn = 0;
        token.burn(amount);
    }

    /// @dev Counts a slot taken by `node`; refuses it beyond `maxSlotsPerNode`.
    function _takeSlot(address node) private {
        uint256 held = registry.slotTaken(node);
        if (held > maxSlotsPerNode) revert SlotCapReached(node, held - 1, maxSlotsPerNode);
    }

    /// @dev Refuses `node` for slot `slotIndex` when it holds another slot of the deal or shares its operator with
    /// another slot's holder.
    function _checkNotInDeal(Deal storage d, uint256 dealId, uint256 slotIndex, address node) private view {
        address operator = registry.operatorOf(node);
        for (uint256 i = 0; i < d.n; i++) {
            if (i == slotIndex) continue;
            address other = _slots[dealId][i].node;
            if (other == node) revert DuplicateNode(node);
            if (registry.operatorOf(other) == operator) revert DuplicateOperator(operator, node, other);
        }
    }

    /// @dev Credits the share of the account's last proved epoch if that epoch is before `epoch` (thus closed).
    function _settle(address node, NodeAccount storage a, uint256 epoch) private {
        if (!a.proved || a.lastEpoch >= epoch || a.epochFees == 0) return;
        uint256 amount = _share(a);
        a.epochFees = 0;
        if (amount > 0) {
            a.rewards += uint128(amount); // amount <= emission(epoch) < 2^112 (see NodeAccount)
            emit RewardSettled(node, a.lastEpoch, amount);
        }
    }

    /// @dev A node's reward for its last proved epoch: rewardShareBps of the fees it burned then, scaled down pro
    /// rata when all the epoch's claims exceed its emission. Never more than the fees it burned.
    function _share(NodeAccount storage a) private view returns (uint256) {
        uint256 claim = (a.epochFees * rewardShareBps) / BPS;
        uint256 prorata = (emission(a.lastEpoch) * a.epochFees) / _epochs[a.lastEpoch].fees;
        return claim < prorata ? claim : prorata;
    }

    function _leafIndex(bytes32 seed, uint256 dealId, uint256 slotIndex, uint256 epoch, uint256 count, address prover)
        private
        view
        returns (uint256)
    {
        return uint256(keccak256(abi.encode(seed, block.chainid, address(this), dealId, slotIndex, epoch, prover)))
            % count;
    }

    function _deal(uint256 dealId) private view returns (Deal storage d) {
        d = _deals[dealId];
        if (d.owner == address(0)) revert DealNotFound(dealId);
    }

    function _slot(uint256 dealId, uint256 slotIndex) private view returns (Slot storage s) {
        if (slotIndex >= _deals[dealId].n) revert SlotNotFound(dealId, slotIndex);
        s = _slots[dealId][slotIndex];
    }
}
